//! Input rules: names, lengths, reserved words. A rejected input stores nothing.

use crate::error::{AppError, AppResult};

/// Shortest and longest local names (people and communities share one namespace).
pub const NAME_MIN: usize = 3;
pub const NAME_MAX: usize = 30;
/// Limits on other fields, in characters.
pub const DISPLAY_NAME_MAX: usize = 100;
pub const TITLE_MAX: usize = 100;
pub const SUMMARY_MAX: usize = 10_000;
pub const GUIDELINES_MAX: usize = 20_000;
pub const TOPIC_MAX: usize = 50;
pub const TOPICS_MAX: usize = 20;
pub const PASSWORD_MIN: usize = 10;
pub const PASSWORD_MAX: usize = 1_000;
pub const EMAIL_MAX: usize = 254;
pub const REASON_MAX: usize = 2_000;

/// Names that would collide with routes, well-known accounts or impersonate staff.
const RESERVED: &[&str] = &[
    "about",
    "abuse",
    "actor",
    "admin",
    "administrator",
    "api",
    "app",
    "assets",
    "c",
    "community",
    "communities",
    "contact",
    "feed",
    "feeds",
    "guildhall",
    "healthz",
    "help",
    "inbox",
    "info",
    "instance",
    "login",
    "logout",
    "mod",
    "moderator",
    "moderators",
    "news",
    "nodeinfo",
    "null",
    "outbox",
    "postmaster",
    "privacy",
    "register",
    "root",
    "security",
    "settings",
    "signup",
    "static",
    "staff",
    "support",
    "system",
    "terms",
    "u",
    "undefined",
    "user",
    "users",
    "webmaster",
    "well_known",
    "www",
];

/// Checks a local name: 3–30 of `a-z`, `0-9`, `_`, starting with a letter or digit, not
/// reserved. Lower case only, so that `acct:` look-ups are unambiguous.
pub fn name(field: &'static str, value: &str) -> Result<(), AppError> {
    let len = value.chars().count();
    if !(NAME_MIN..=NAME_MAX).contains(&len) {
        return Err(AppError::invalid(
            "invalid_name",
            format!("{field} must be {NAME_MIN} to {NAME_MAX} characters long"),
        ));
    }
    let ok_chars = value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    let ok_start = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !ok_chars || !ok_start {
        return Err(AppError::invalid(
            "invalid_name",
            format!(
                "{field} may contain only lower-case letters a-z, digits and underscores, \
                 and must start with a letter or digit"
            ),
        ));
    }
    if RESERVED.contains(&value) {
        return Err(AppError::invalid(
            "reserved_name",
            format!("{field} `{value}` is reserved"),
        ));
    }
    Ok(())
}

/// Checks that a text field is at most `max` characters (and, if `required`, not blank).
pub fn text(field: &'static str, value: &str, max: usize, required: bool) -> Result<(), AppError> {
    if required && value.trim().is_empty() {
        return Err(AppError::invalid(
            "missing_field",
            format!("{field} must not be empty"),
        ));
    }
    if value.chars().count() > max {
        return Err(AppError::invalid(
            "too_long",
            format!("{field} must be at most {max} characters"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(AppError::invalid(
            "invalid_characters",
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(())
}

/// Checks a password's length (no composition rules: length is what matters).
pub fn password(value: &str) -> Result<(), AppError> {
    let len = value.chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&len) {
        return Err(AppError::invalid(
            "invalid_password",
            format!("password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters long"),
        ));
    }
    Ok(())
}

/// A plausible e-mail address: one `@`, something on each side, a dot in the domain,
/// no spaces. Returned lower-cased so that uniqueness is case-insensitive.
pub fn email(value: &str) -> Result<String, AppError> {
    let v = value.trim();
    let bad = || AppError::invalid("invalid_email", "email is not a valid address");
    if v.len() > EMAIL_MAX || v.chars().any(char::is_whitespace) {
        return Err(bad());
    }
    let (local, domain) = v.split_once('@').ok_or_else(bad)?;
    if local.is_empty() || domain.contains('@') || !domain.contains('.') || domain.ends_with('.') {
        return Err(bad());
    }
    Ok(v.to_lowercase())
}

/// Normalises topics: trimmed, lower-cased, a leading `#` dropped, duplicates removed.
/// Each is 1–50 letters, digits, `-` or `_`; at most 20.
pub fn topics(values: &[String]) -> Result<Vec<String>, AppError> {
    let mut out: Vec<String> = Vec::new();
    for raw in values {
        let t = raw.trim().trim_start_matches('#').to_lowercase();
        let ok = !t.is_empty()
            && t.chars().count() <= TOPIC_MAX
            && t.chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(AppError::invalid(
                "invalid_topic",
                format!("topic `{raw}` must be 1 to {TOPIC_MAX} letters, digits, `-` or `_`"),
            ));
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.len() > TOPICS_MAX {
        return Err(AppError::invalid(
            "too_many_topics",
            format!("at most {TOPICS_MAX} topics"),
        ));
    }
    Ok(out)
}

/// Limits on text taken from other servers, in characters: longer values are cut, so a
/// hostile peer cannot make us store or render megabytes in a name.
pub const REMOTE_NAME_MAX: usize = 100;
pub const REMOTE_DISPLAY_NAME_MAX: usize = 200;
pub const REMOTE_SUMMARY_MAX: usize = 50_000;
pub const REMOTE_CONTENT_MAX: usize = 200_000;

/// Whether `c` may not appear in a name or title from elsewhere: control characters,
/// bidirectional overrides, embeddings, isolates and marks (which can reverse the text
/// around a name: "Trojan Source"), and zero-width or invisible characters (which can pad
/// a name so that its host is pushed out of sight, or make two names look alike).
fn is_hidden_or_reordering(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}' | '\u{180E}'
            | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}'
            | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}' | '\u{E0000}'..='\u{E007F}')
}

/// A display name or title from another server, safe to show: hidden and reordering
/// characters removed, whitespace runs made one space, trimmed, at most `max` characters.
pub fn safe_name(value: &str, max: usize) -> String {
    let visible: String = value
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .filter(|c| !is_hidden_or_reordering(*c))
        .collect();
    clip(
        &visible.split_whitespace().collect::<Vec<_>>().join(" "),
        max,
    )
}

/// Whether `name` is a username WebFinger can carry (`acct:name@host`): letters, digits,
/// `_`, `-`, `.` and `~`; no `@`, spaces, control or invisible characters.
pub fn is_remote_username(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= REMOTE_NAME_MAX
        && name
            .chars()
            .all(|c| (c.is_alphanumeric() && !is_hidden_or_reordering(c)) || "_-.~".contains(c))
}

/// A remote actor's username: its `preferredUsername` when WebFinger could carry it, else
/// (as Mastodon and Lemmy fall back) the last segment of its id; an actor with neither is
/// refused.
pub fn remote_username(preferred: Option<&str>, id: &url::Url) -> AppResult<String> {
    let from_id = id
        .path_segments()
        .and_then(|mut s| s.rfind(|seg| !seg.is_empty()))
        .map(|s| s.to_string());
    preferred
        .map(str::to_string)
        .filter(|n| is_remote_username(n))
        .or(from_id.filter(|n| is_remote_username(n)))
        .ok_or_else(|| {
            AppError::bad_request(
                "invalid_actor",
                "the actor has no username WebFinger could carry",
            )
        })
}

/// `value` cut to at most `max` characters (on a character boundary).
pub fn clip(value: &str, max: usize) -> String {
    match value.char_indices().nth(max) {
        Some((i, _)) => value[..i].to_string(),
        None => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(name("name", "rust_guild").is_ok());
        assert!(name("name", "ab").is_err());
        assert!(name("name", &"a".repeat(31)).is_err());
        assert!(name("name", "Rust").is_err());
        assert!(name("name", "_rust").is_err());
        assert!(name("name", "rüst").is_err());
        assert!(name("name", "a b").is_err());
        assert_eq!(name("name", "admin").unwrap_err().code(), "reserved_name");
    }

    #[test]
    fn emails_and_topics() {
        assert_eq!(email(" A@Example.org ").unwrap(), "a@example.org");
        assert!(email("nope").is_err());
        assert!(email("a@b").is_err());
        assert!(email("a b@c.d").is_err());
        let t = topics(&["#Rust".into(), "rust".into(), "wood-work".into()]).unwrap();
        assert_eq!(t, vec!["rust".to_string(), "wood-work".to_string()]);
        assert!(topics(&["a b".into()]).is_err());
        assert!(topics(&(0..21).map(|i| format!("t{i}")).collect::<Vec<_>>()).is_err());
    }

    #[test]
    fn clipping() {
        assert_eq!(clip("héllo", 2), "hé");
        assert_eq!(clip("abc", 10), "abc");
        assert_eq!(clip(&"é".repeat(300), 200).chars().count(), 200);
    }

    #[test]
    fn text_limits() {
        assert!(text("title", "", 10, true).is_err());
        assert!(text("title", "   ", 10, true).is_err());
        assert!(text("title", "", 10, false).is_ok());
        assert!(text("title", "abcdefghijk", 10, true).is_err());
        assert!(text("title", "bell\u{7}", 10, true).is_err());
    }

    #[test]
    fn names_from_elsewhere_are_made_safe() {
        // Right-to-left override, isolates, zero-width spaces and joiners, a BOM, tags.
        let hostile = "\u{202E}moc.evil\u{202C} ali\u{200B}ce\u{2066}\u{FEFF}\u{E0041}\u{200D}";
        assert_eq!(safe_name(hostile, 100), "moc.evil alice");
        assert_eq!(safe_name("  many\n\tspaces  ", 100), "many spaces");
        assert_eq!(safe_name("été", 2), "ét");
        assert_eq!(safe_name("Ærøskøbing 日本", 100), "Ærøskøbing 日本");
    }

    #[test]
    fn remote_usernames_are_what_webfinger_carries() {
        let id = url::Url::parse("https://h.example/users/bob").unwrap();
        assert_eq!(remote_username(Some("alice"), &id).unwrap(), "alice");
        assert_eq!(remote_username(Some("a.b-c_d~"), &id).unwrap(), "a.b-c_d~");
        for bad in [
            "alice@other.host",
            "two words",
            "",
            "nul\u{0}",
            "zw\u{200B}j",
            &"n".repeat(101),
        ] {
            assert_eq!(remote_username(Some(bad), &id).unwrap(), "bob", "{bad:?}");
        }
        assert_eq!(remote_username(None, &id).unwrap(), "bob");
        let trailing = url::Url::parse("https://h.example/c/spoons/").unwrap();
        assert_eq!(remote_username(None, &trailing).unwrap(), "spoons");
        let nowhere = url::Url::parse("https://h.example/").unwrap();
        assert!(remote_username(Some("a b"), &nowhere).is_err());
    }
}
