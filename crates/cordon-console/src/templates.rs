//! The page templates, embedded in the binary and compiled once. HTML is
//! auto-escaped; the only `|safe` values are the highlighted text and the
//! charts, which this crate builds from escaped segments.

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::error::ConsoleError;
use crate::html;
use crate::time;

/// Every template: (name, source).
const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("templates/layout.html")),
    ("login.html", include_str!("templates/login.html")),
    ("problem.html", include_str!("templates/problem.html")),
    ("overview.html", include_str!("templates/overview.html")),
    ("queue.html", include_str!("templates/queue.html")),
    ("message.html", include_str!("templates/message.html")),
    ("bulk.html", include_str!("templates/bulk.html")),
];

/// The compiled templates.
pub(crate) struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Compiles the templates. A template that does not compile (a bug,
    /// caught by the tests) is logged and its pages fail with an internal
    /// error, rather than the console refusing to start.
    pub(crate) fn new() -> Templates {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.add_filter("datetime", |seconds: u64| time::format(seconds));
        env.set_formatter(|out, state, value| match value.as_str() {
            // Text is escaped as everywhere in the console, which also shows
            // bidi and control characters visibly; values marked safe were
            // built from text escaped so.
            Some(text) if !value.is_safe() => {
                out.write_str(&html::escape(text))?;
                Ok(())
            }
            _ => minijinja::escape_formatter(out, state, value),
        });
        for (name, source) in TEMPLATES {
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "a console template does not compile");
            }
        }
        Templates { env }
    }

    /// Renders template `name` with `context`.
    pub(crate) fn render(
        &self,
        name: &str,
        context: impl Serialize,
    ) -> Result<String, ConsoleError> {
        Ok(self.env.get_template(name)?.render(context)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles_and_escapes() {
        let templates = Templates::new();
        for (name, _) in TEMPLATES {
            assert!(templates.env.get_template(name).is_ok(), "{name}");
        }
        let html = templates
            .render(
                "problem.html",
                minijinja::context! {
                    user => None::<()>,
                    title => "<b>t</b>",
                    message => "<script>x</script>",
                    back => None::<String>,
                },
            )
            .unwrap();
        assert!(
            html.contains("&lt;script&gt;x&lt;&#x2f;script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script>"));
    }
}
