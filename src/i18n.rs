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
    #[test]
    fn the_english_file_parses_and_every_id_used_exists() {
        assert!(fluent_bundle::FluentResource::try_new(super::EN.to_owned()).is_ok());
        let source = include_str!("main.rs").to_owned() + include_str!("app.rs");
        for id in source
            .split("tr(\"")
            .skip(1)
            .chain(source.split("tr_args(\"").skip(1))
        {
            let id = id.split('"').next().unwrap_or_default();
            assert!(super::bundle().has_message(id), "missing Fluent id {id}");
        }
    }
}
