//! User-facing text, from Fluent files compiled into the binary.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::sync::OnceLock;

const EN: &str = include_str!("../i18n/en/tern.ftl");

fn bundle() -> &'static FluentBundle<FluentResource> {
    static BUNDLE: OnceLock<FluentBundle<FluentResource>> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        let lang: unic_langid::LanguageIdentifier = "en".parse().unwrap_or_default();
        let mut bundle = FluentBundle::new_concurrent(vec![lang]);
        // Unicode isolation marks show up as boxes in some fonts; plain text reads better.
        bundle.set_use_isolating(false);
        // The file is ours and checked by a test, so a parse error is a build-time bug.
        let resource = FluentResource::try_new(EN.to_owned()).unwrap_or_else(|(res, _)| res);
        let _ = bundle.add_resource(resource);
        bundle
    })
}

/// The text of message `id`, with arguments.
pub fn tr_args(id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
    let bundle = bundle();
    let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
        return id.to_owned();
    };
    let mut fluent_args = FluentArgs::new();
    for (k, v) in args {
        fluent_args.set(*k, v.clone());
    }
    let mut errors = Vec::new();
    bundle
        .format_pattern(pattern, Some(&fluent_args), &mut errors)
        .into_owned()
}

/// The text of message `id`.
pub fn tr(id: &str) -> String {
    tr_args(id, &[])
}

#[cfg(test)]
mod tests {
    /// Every `.rs` file under `dir`, recursively.
    fn sources(dir: &std::path::Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(std::fs::read_to_string(&path).unwrap_or_default());
            }
        }
    }

    /// The text after each call of `name(` (a whole identifier, not the end of a longer one).
    fn after_calls<'a>(source: &'a str, name: &str) -> Vec<&'a str> {
        let pattern = format!("{name}(");
        let mut out = Vec::new();
        let mut from = 0;
        while let Some(pos) = source[from..].find(&pattern) {
            let at = from + pos;
            let before = source[..at].chars().next_back();
            if !before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                out.push(source[at + pattern.len()..].trim_start());
            }
            from = at + pattern.len();
        }
        out
    }

    #[test]
    fn the_english_file_parses_and_every_id_used_exists() {
        assert!(fluent_bundle::FluentResource::try_new(super::EN.to_owned()).is_ok());
        let mut files = Vec::new();
        sources(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        assert!(files.len() > 10, "the sources were found");
        let mut checked = 0;
        let mut check = |id: &str| {
            assert!(super::bundle().has_message(id), "missing Fluent id {id}");
            checked += 1;
        };
        for source in &files {
            for call in after_calls(source, "tr")
                .into_iter()
                .chain(after_calls(source, "tr_args"))
            {
                if let Some(rest) = call.strip_prefix('"') {
                    check(rest.split('"').next().unwrap_or_default());
                } else if let Some(arms) = call.strip_prefix("match ") {
                    // An id picked by a match: every arm's string.
                    let arms = arms.split("})").next().unwrap_or_default();
                    for id in arms.split("=> \"").skip(1) {
                        check(id.split('"').next().unwrap_or_default());
                    }
                }
            }
        }
        assert!(checked > 50, "ids were found in the sources ({checked})");
    }
}
