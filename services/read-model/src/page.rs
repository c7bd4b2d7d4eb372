//! Keyset (cursor) pagination: a page ends with an opaque cursor naming the last row's sort
//! key, and the next page starts strictly after it, so rows written meanwhile neither repeat
//! nor vanish the way they do with OFFSET.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PageError {
    #[error("the cursor is not one this endpoint handed out")]
    BadCursor,
    #[error("limit must be between 1 and {MAX_LIMIT}")]
    BadLimit,
}

/// A decoded cursor: the sort key of the last row of the previous page, as the query that
/// made it chose to write it, tagged with that query's name so a cursor of another listing
/// (or another sort) is refused rather than misread.
#[derive(Clone, Debug, PartialEq)]
pub struct Cursor<K> {
    pub after: K,
}

#[derive(Serialize, Deserialize)]
struct Wire<K> {
    q: String,
    k: K,
}

impl<K: Serialize + DeserializeOwned> Cursor<K> {
    pub fn encode(query: &str, after: K) -> String {
        let wire = Wire {
            q: query.to_owned(),
            k: after,
        };
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&wire).unwrap_or_default())
    }

    pub fn decode(query: &str, text: &str) -> Result<Self, PageError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| PageError::BadCursor)?;
        let wire: Wire<K> = serde_json::from_slice(&bytes).map_err(|_| PageError::BadCursor)?;
        if wire.q != query {
            return Err(PageError::BadCursor);
        }
        Ok(Self { after: wire.k })
    }
}

/// The requested page size, checked.
pub fn limit(requested: Option<u32>) -> Result<u32, PageError> {
    match requested {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(PageError::BadLimit),
    }
}

/// One page of a listing.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only says there is more.
    pub fn from_rows<K: Serialize + DeserializeOwned>(
        query: &str,
        mut rows: Vec<T>,
        limit: u32,
        key_of: impl Fn(&T) -> K,
    ) -> Self {
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = if more {
            rows.last().map(|last| Cursor::encode(query, key_of(last)))
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_is_refused_by_another_listing() {
        let text = Cursor::encode("orders.by_date", ("2026-01-01".to_owned(), 7));
        let back: Cursor<(String, i32)> = Cursor::decode("orders.by_date", &text).unwrap();
        assert_eq!(back.after, ("2026-01-01".to_owned(), 7));
        assert_eq!(
            Cursor::<(String, i32)>::decode("catalog.products", &text),
            Err(PageError::BadCursor)
        );
        assert_eq!(
            Cursor::<(String, i32)>::decode("orders.by_date", "not base64!"),
            Err(PageError::BadCursor)
        );
    }

    #[test]
    fn a_page_of_limit_plus_one_rows_has_a_cursor_and_the_last_page_none() {
        let page = Page::from_rows("q", vec![1, 2, 3], 2, |n| *n);
        assert_eq!(page.items, vec![1, 2]);
        let cursor: Cursor<i32> =
            Cursor::decode("q", page.next_cursor.as_deref().unwrap()).unwrap();
        assert_eq!(cursor.after, 2);
        assert_eq!(
            Page::from_rows("q", vec![1, 2], 2, |n| *n).next_cursor,
            None
        );
    }

    #[test]
    fn limits_outside_the_range_are_refused() {
        assert_eq!(limit(None), Ok(DEFAULT_LIMIT));
        assert_eq!(limit(Some(0)), Err(PageError::BadLimit));
        assert_eq!(limit(Some(MAX_LIMIT + 1)), Err(PageError::BadLimit));
        assert_eq!(limit(Some(MAX_LIMIT)), Ok(MAX_LIMIT));
    }
}
