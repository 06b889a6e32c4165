//! Forms that keep what was typed when they are refused, with the message beside the field
//! it is about (issue 12 §4). Passwords are never sent back.

use super::escape;
use crate::error::AppError;
use std::fmt::Write;

/// How a field is entered.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Password,
    Url,
    Textarea,
}

/// One field of a form, with what was typed into it.
pub struct Field<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub kind: Kind,
    pub value: &'a str,
    pub required: bool,
    /// Extra attributes (`maxlength="200"`, `autocomplete="username"`).
    pub attrs: &'a str,
}

impl<'a> Field<'a> {
    pub fn new(name: &'a str, label: &'a str, kind: Kind, value: &'a str) -> Self {
        Field {
            name,
            label,
            kind,
            value,
            required: false,
            attrs: "",
        }
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub fn attrs(mut self, attrs: &'a str) -> Self {
        self.attrs = attrs;
        self
    }
}

/// Which field an error is about: by its code for the account rules, else by the field
/// name the domain's messages start with (`title must not be empty`).
fn field_of<'a>(e: &AppError, fields: &[Field<'a>]) -> Option<&'a str> {
    let by_code = match e.code() {
        "invalid_name" | "reserved_name" | "name_taken" => Some("username"),
        "invalid_password" => Some("password"),
        "invalid_email" | "email_taken" => Some("email"),
        _ => None,
    };
    let message = e.to_string();
    let first_word = message.split([' ', '`']).next().unwrap_or_default();
    let name = by_code.unwrap_or(first_word);
    fields.iter().find(|f| f.name == name).map(|f| f.name)
}

/// A POST form to `action` with `fields`; `error`, if any, is shown beside its field (or,
/// about none of them, above the button).
pub fn render(action: &str, fields: &[Field], button: &str, error: Option<&AppError>) -> String {
    let about = error.and_then(|e| field_of(e, fields));
    let message = |e: &AppError, name: &str| {
        format!(
            " <span class=\"error\" id=\"{name}-error\" role=\"alert\">{}</span>",
            escape(&e.to_string())
        )
    };
    let mut out = format!("<form method=\"post\" action=\"{}\">", escape(action));
    for f in fields {
        let mut attrs = String::from(f.attrs);
        if f.required {
            attrs.push_str(" required");
        }
        let here = error.filter(|_| about == Some(f.name));
        if here.is_some() {
            let _ = write!(
                attrs,
                " aria-invalid=\"true\" aria-describedby=\"{}-error\"",
                f.name
            );
        }
        let value = if f.kind == Kind::Password {
            String::new()
        } else {
            escape(f.value)
        };
        let input = match f.kind {
            Kind::Textarea => format!("<textarea name=\"{}\"{attrs}>{value}</textarea>", f.name),
            kind => format!(
                "<input type=\"{}\" name=\"{}\" value=\"{value}\"{attrs}>",
                match kind {
                    Kind::Password => "password",
                    Kind::Url => "url",
                    _ => "text",
                },
                f.name
            ),
        };
        let _ = write!(
            out,
            "<p><label>{} {input}</label>{}</p>",
            escape(f.label),
            here.map(|e| message(e, f.name)).unwrap_or_default()
        );
    }
    if let Some(e) = error.filter(|_| about.is_none()) {
        let _ = write!(out, "<p>{}</p>", message(e, "form").trim_start());
    }
    let _ = write!(out, "<p><button>{}</button></p></form>", escape(button));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>(title: &'a str) -> [Field<'a>; 2] {
        [
            Field::new("title", "Title", Kind::Text, title).required(),
            Field::new("password", "Password", Kind::Password, "secret"),
        ]
    }

    #[test]
    fn the_message_sits_beside_its_field_and_values_are_kept_escaped() {
        let e = AppError::invalid("too_long", "title must be at most 200 characters");
        let html = render("/p", &fields("<b>x</b>"), "Post", Some(&e));
        let field = html.find("name=\"title\"").unwrap();
        let msg = html.find("id=\"title-error\"").unwrap();
        let next = html.find("name=\"password\"").unwrap();
        assert!(field < msg && msg < next, "{html}");
        assert!(html.contains("value=\"&lt;b&gt;x&lt;/b&gt;\""), "{html}");
        assert!(!html.contains("secret"), "passwords are not sent back");
        let e = AppError::invalid("invalid_password", "password must be 10 to 200 characters");
        let html = render("/p", &fields(""), "Post", Some(&e));
        assert!(html.contains("id=\"password-error\""), "{html}");
        let e = AppError::Unauthorized("wrong username or password".into());
        let html = render("/p", &fields(""), "Post", Some(&e));
        assert!(html.contains("id=\"form-error\""), "{html}");
    }
}
