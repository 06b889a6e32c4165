//! Markdown → HTML for local text, and sanitising of any HTML we store or show.

use pulldown_cmark::{Options, Parser, html};

/// Renders Markdown written by a local person to sanitised HTML.
pub fn to_html(source: &str) -> String {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options.insert(Options::ENABLE_TABLES);
    let parser = Parser::new_ext(source, options);
    let mut out = String::with_capacity(source.len() * 3 / 2);
    html::push_html(&mut out, parser);
    sanitize(&out)
}

/// Cleans HTML (ours or a remote server's): no scripts, styles, event handlers, frames or
/// `javascript:`/`data:` links; links get `rel="noopener noreferrer nofollow ugc"`.
pub fn sanitize(html: &str) -> String {
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow ugc"))
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .clean(html)
        .to_string()
}

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_renders_and_is_sanitised() {
        let html = to_html("**bold** <script>alert(1)</script> [x](javascript:alert(1))");
        assert!(html.contains("<strong>bold</strong>"), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
    }

    #[test]
    fn hostile_html_is_cleaned() {
        let html = sanitize(
            r#"<img src="x" onerror="alert(1)"><iframe src="https://e"></iframe><a href="data:text/html,x">d</a><p style="color:red">p</p><svg><script>1</script></svg>"#,
        );
        for bad in ["onerror", "<iframe", "data:", "style=", "<svg", "<script"] {
            assert!(!html.contains(bad), "{bad} survived in {html}");
        }
    }
}
