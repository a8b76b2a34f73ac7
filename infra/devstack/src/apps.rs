//! Each function's app as Lambda builds it: the stack's configuration, with only the keys whose
//! secrets the function's environment in `template.yaml` names. The gateway and the event
//! sources run every handler with its own function's app, so a function that uses a key the
//! template does not give it fails its tests, as it would fail deployed.

use std::collections::BTreeMap;

use mailing::App;
use mailing::secrets::Key;

use crate::template::Template;

#[derive(Clone)]
pub struct FunctionApps {
    /// Every key: what the stack itself (provisioning, tests' own checks) works with.
    all: App,
    keys: BTreeMap<String, Vec<Key>>,
    by_function: BTreeMap<String, App>,
}

impl FunctionApps {
    pub fn new(all: App, template: &Template) -> Self {
        let keys = template
            .functions()
            .into_iter()
            .map(|function| {
                let keys = function.keys();
                (function.binary, keys)
            })
            .collect();
        Self::given(all, keys)
    }

    fn given(all: App, keys: BTreeMap<String, Vec<Key>>) -> Self {
        let by_function = keys
            .iter()
            .map(|(function, keys)| (function.clone(), all.given_only(keys)))
            .collect();
        Self {
            all,
            keys,
            by_function,
        }
    }

    /// The stack's app, with every key.
    pub fn all(&self) -> &App {
        &self.all
    }

    /// The app `function` runs with: `None` for a function the template does not declare.
    pub fn of(&self, function: &str) -> Option<&App> {
        self.by_function.get(function)
    }

    /// The same functions, seeing `all`'s configuration (a test's other quota, a rotated key).
    pub fn with(&self, all: App) -> Self {
        Self::given(all, self.keys.clone())
    }
}
