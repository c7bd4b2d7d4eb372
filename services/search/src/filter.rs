//! Meilisearch filter strings, built only from [`Facet`]s and quoted values.

use crate::Facet;

/// Quotes a value for a Meilisearch filter string: `"…"`, with `\` written `\\` and `"`
/// written `\"`. Nothing inside the quotes is filter syntax any more.
pub fn quote(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

/// The filter of a search: `tenant_id = "<tenant>"`, then ` AND (…)` for each entry of
/// `filters`, whose values are ORed (`brand = "A" OR brand = "B"`). Every value is escaped with
/// [`quote`]; attribute names come only from [`Facet::as_str`].
///
/// An entry without values constrains nothing and is left out (the PostgreSQL fallback reads
/// the same request the same way).
///
/// ```
/// # use optical_search::{filter_expression, Facet};
/// let tenant = uuid::Uuid::nil();
/// let filters = vec![
///     (Facet::Brand, vec!["Ray-Ban".to_owned(), "Oakley".to_owned()]),
///     (Facet::Available, vec!["true".to_owned()]),
/// ];
/// assert_eq!(
///     filter_expression(tenant, &filters),
///     r#"tenant_id = "00000000-0000-0000-0000-000000000000" AND (brand = "Ray-Ban" OR brand = "Oakley") AND (available = "true")"#
/// );
/// ```
pub fn filter_expression(tenant_id: uuid::Uuid, filters: &[(Facet, Vec<String>)]) -> String {
    let mut expression = format!("tenant_id = {}", quote(&tenant_id.to_string()));
    for (facet, values) in filters {
        if values.is_empty() {
            continue;
        }
        let alternatives: Vec<String> = values
            .iter()
            .map(|value| format!("{} = {}", facet.as_str(), quote(value)))
            .collect();
        expression.push_str(" AND (");
        expression.push_str(&alternatives.join(" OR "));
        expression.push(')');
    }
    expression
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> uuid::Uuid {
        uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001)
    }

    const TENANT_FILTER: &str = r#"tenant_id = "01900000-0000-7000-8000-000000000001""#;

    #[test]
    fn no_filters_is_the_tenant_filter_alone() {
        assert_eq!(filter_expression(tenant(), &[]), TENANT_FILTER);
    }

    #[test]
    fn entries_are_anded_and_values_ored() {
        let filters = vec![
            (Facet::Kind, vec!["frame".to_owned()]),
            (
                Facet::FrameShape,
                vec!["round".to_owned(), "cat_eye".to_owned()],
            ),
        ];
        assert_eq!(
            filter_expression(tenant(), &filters),
            format!(
                r#"{TENANT_FILTER} AND (kind = "frame") AND (frame_shape = "round" OR frame_shape = "cat_eye")"#
            )
        );
    }

    #[test]
    fn an_entry_without_values_is_left_out() {
        let filters = vec![
            (Facet::Brand, vec![]),
            (Facet::LensIndex, vec!["1.67".to_owned()]),
        ];
        assert_eq!(
            filter_expression(tenant(), &filters),
            format!(r#"{TENANT_FILTER} AND (lens_index = "1.67")"#)
        );
    }

    #[test]
    fn quotes_and_backslashes_are_escaped() {
        assert_eq!(quote(""), r#""""#);
        assert_eq!(quote(r#"say "hi""#), r#""say \"hi\"""#);
        assert_eq!(quote(r"C:\frames"), r#""C:\\frames""#);
        assert_eq!(quote(r#"\""#), r#""\\\"""#);
        assert_eq!(quote("Zeiss ÄÖÜ 1,67"), r#""Zeiss ÄÖÜ 1,67""#);
    }

    #[test]
    fn an_injection_attempt_stays_inside_its_quotes() {
        let hostile = r#"x" OR tenant_id != "nobody"#;
        let filters = vec![(Facet::Brand, vec![hostile.to_owned()])];
        let expression = filter_expression(tenant(), &filters);
        assert_eq!(
            expression,
            format!(r#"{TENANT_FILTER} AND (brand = "x\" OR tenant_id != \"nobody")"#)
        );
        // A backslash cannot un-escape the closing quote either.
        let filters = vec![(Facet::Brand, vec![r#"x\"#.to_owned()])];
        assert_eq!(
            filter_expression(tenant(), &filters),
            format!(r#"{TENANT_FILTER} AND (brand = "x\\")"#)
        );
    }

    /// Reads a filter back the way Meilisearch tokenises it (quoted strings with `\` escapes)
    /// and checks that every value arrives whole and that outside quotes there is nothing but
    /// our own names and operators.
    #[test]
    fn any_value_reads_back_as_exactly_one_quoted_string() {
        let values = [
            r#"""#,
            r"\",
            r#"\""#,
            r#"a" OR "b"#,
            r#"") OR (tenant_id EXISTS"#,
            "tab\tnew\nline",
            "",
        ];
        for value in values {
            let filters = vec![(Facet::Colour, vec![value.to_owned()])];
            let expression = filter_expression(tenant(), &filters);
            let (outside, strings) = tokenise(&expression);
            assert_eq!(
                strings,
                vec![tenant().to_string(), value.to_owned()],
                "{expression}"
            );
            assert_eq!(
                outside, r#"tenant_id = "" AND (colour = "")"#,
                "{expression}"
            );
        }
    }

    /// Splits a filter into the text outside quotes (quotes kept, empty) and the unescaped
    /// quoted strings.
    fn tokenise(expression: &str) -> (String, Vec<String>) {
        let mut outside = String::new();
        let mut strings = Vec::new();
        let mut chars = expression.chars();
        while let Some(c) = chars.next() {
            if c != '"' {
                outside.push(c);
                continue;
            }
            outside.push_str("\"\"");
            let mut current = String::new();
            loop {
                match chars.next() {
                    Some('\\') => current.extend(chars.next()),
                    Some('"') | None => break,
                    Some(other) => current.push(other),
                }
            }
            strings.push(current);
        }
        (outside, strings)
    }
}
