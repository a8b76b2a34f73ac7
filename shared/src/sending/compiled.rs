//! Compiled templates kept by a warm container. Compiling the benchmark newsletter costs as
//! much CPU as rendering a few dozen messages, and every batch of a campaign compiles the same
//! frozen sources: they are kept, keyed by everything compiling reads — the sources, the
//! signature and the tracking — so different content is a new key, never a stale hit.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crate::domain::MessageSources;
use crate::render::{MessageTemplate, Tracking};

/// Versions (a campaign, or one variant of an A/B test) a container can be sending at once
/// without recompiling: an A/B test's batches of its five variants interleave.
const KEPT: usize = 8;

#[derive(PartialEq)]
pub(super) struct Key {
    pub sources: MessageSources,
    pub tracking: Tracking,
}

/// The most recently used first.
type Kept = VecDeque<(Key, Arc<MessageTemplate>)>;

/// Shared by the clones of one `App`.
#[derive(Clone, Default)]
pub struct CompiledTemplates(Arc<Mutex<Kept>>);

impl std::fmt::Debug for CompiledTemplates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self.0.lock().map_or(0, |kept| kept.len());
        write!(f, "CompiledTemplates({kept} kept)")
    }
}

impl CompiledTemplates {
    /// The template compiled for `key`, compiling it with `compile` when it is not kept.
    pub(super) fn get_or_compile<E>(
        &self,
        key: Key,
        compile: impl FnOnce(&Key) -> Result<MessageTemplate, E>,
    ) -> Result<Arc<MessageTemplate>, E> {
        if let Ok(mut kept) = self.0.lock()
            && let Some(at) = kept.iter().position(|(k, _)| *k == key)
        {
            let hit = kept.remove(at).expect("a position just found");
            let template = Arc::clone(&hit.1);
            kept.push_front(hit);
            return Ok(template);
        }
        // Compiled outside the lock: another batch may compile the same, which costs a compile.
        let template = Arc::new(compile(&key)?);
        if let Ok(mut kept) = self.0.lock() {
            kept.push_front((key, Arc::clone(&template)));
            kept.truncate(KEPT);
        }
        Ok(template)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::config::SigningKey;
    use crate::render::TokenSigner;

    fn key(html: &str, signature: Option<&str>, links: bool) -> Key {
        Key {
            sources: MessageSources {
                subject: "Bonjour {{ contact.first_name }}".into(),
                html: html.into(),
                text: None,
                signature: signature.map(str::to_owned),
            },
            tracking: Tracking {
                base_url: "https://t.example".into(),
                links,
                open_pixel: false,
                utm: None,
            },
        }
    }

    fn compile(key: &Key) -> Result<MessageTemplate, Vec<crate::render::TemplateProblem>> {
        MessageTemplate::compile(
            &(&key.sources).into(),
            key.sources.signature.as_deref(),
            key.tracking.clone(),
            TokenSigner::new(&SigningKey::new(vec![7u8; 32]).unwrap()),
        )
    }

    #[test]
    fn a_template_is_compiled_once_per_sources_signature_and_tracking() {
        let kept = CompiledTemplates::default();
        let compiles = Cell::new(0);
        let get = |key: Key| {
            kept.get_or_compile(key, |key| {
                compiles.set(compiles.get() + 1);
                compile(key)
            })
            .unwrap()
        };
        let first = get(key("<p>Le nouvel album</p>", None, true));
        let again = get(key("<p>Le nouvel album</p>", None, true));
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(compiles.get(), 1);
        for changed in [
            key("<p>Le nouvel album, édité</p>", None, true),
            key("<p>Le nouvel album</p>", Some("<p>Lou</p>"), true),
            key("<p>Le nouvel album</p>", None, false),
        ] {
            get(changed);
        }
        assert_eq!(compiles.get(), 4, "each change is compiled anew");
        // The first is still kept; once KEPT are, one more pushes out the least recently used
        // (the edited album, untouched since).
        get(key("<p>Le nouvel album</p>", None, true));
        assert_eq!(compiles.get(), 4);
        for other in 0..=KEPT - 4 {
            get(key(
                &format!("<p>Une autre campagne {other}</p>"),
                None,
                true,
            ));
        }
        get(key("<p>Le nouvel album, édité</p>", None, true));
        assert_eq!(
            compiles.get(),
            KEPT + 2,
            "the least recently used was let go"
        );
    }

    #[test]
    fn a_template_that_does_not_compile_is_not_kept() {
        let kept = CompiledTemplates::default();
        let broken = || key("<p>{{ contact.first_name </p>", None, true);
        for _ in 0..2 {
            assert!(kept.get_or_compile(broken(), compile).is_err());
        }
        assert_eq!(format!("{kept:?}"), "CompiledTemplates(0 kept)");
    }
}
