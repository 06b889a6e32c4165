//! Paging parameters from clients, bounded in one place for the API and the pages (issue 12
//! §4): a page number or size of any value, however large or negative, never overflows an
//! offset and never reaches the store out of range (PostgreSQL refuses a negative OFFSET).
//! Numbers that do not fit an `i64` (2^64, `x`) are refused by the query extractors.

use crate::error::{AppError, AppResult};

/// The highest page number served. Far past any real list (100 000 pages of 100 posts),
/// and small enough that `(page - 1) * limit` fits an `i64` for every size below.
pub const MAX_PAGE: i64 = 100_000;

/// A list's page sizes: what it shows by default and at most.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub default: i64,
    pub max: i64,
}

/// A community's posts (API).
pub const FEED: Size = Size {
    default: 20,
    max: 100,
};
/// The local community directory.
pub const DIRECTORY: Size = Size {
    default: 20,
    max: 100,
};
/// Moderation and admin logs.
pub const LOG: Size = Size {
    default: 50,
    max: 200,
};
/// The admins' list of refused activities.
pub const REFUSED: Size = Size {
    default: 50,
    max: 100,
};

/// A bounded page: a 1-based number in `1..=MAX_PAGE` and a size in `1..=size.max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    page: i64,
    limit: i64,
}

impl Paging {
    /// For the API: a page number out of range is the client's mistake (400
    /// `invalid_page`); the size is clamped into range, as it always was.
    pub fn checked(page: Option<i64>, limit: Option<i64>, size: Size) -> AppResult<Paging> {
        Ok(Paging {
            page: Self::number(page.unwrap_or(1))?,
            limit: Self::size(limit, size),
        })
    }

    /// A page number alone, for the API (lists whose size is fixed, such as a thread).
    pub fn number(page: i64) -> AppResult<i64> {
        if (1..=MAX_PAGE).contains(&page) {
            Ok(page)
        } else {
            Err(AppError::bad_request(
                "invalid_page",
                format!("page is 1-based and at most {MAX_PAGE}; {page} is out of range"),
            ))
        }
    }

    /// A page number alone, for a browser: clamped into `1..=MAX_PAGE`.
    pub fn number_clamped(page: i64) -> i64 {
        page.clamp(1, MAX_PAGE)
    }

    /// For pages shown to a browser: any number is clamped into range (past the end, the
    /// list shows its last or an empty page).
    pub fn clamped(page: Option<i64>, limit: Option<i64>, size: Size) -> Paging {
        Paging {
            page: Self::number_clamped(page.unwrap_or(1)),
            limit: Self::size(limit, size),
        }
    }

    /// A page size alone (keyset paging: `before` / `after` need no offset).
    pub fn size(limit: Option<i64>, size: Size) -> i64 {
        limit.unwrap_or(size.default).clamp(1, size.max.max(1))
    }

    pub fn page(&self) -> i64 {
        self.page
    }

    pub fn limit(&self) -> i64 {
        self.limit
    }

    /// Rows to skip. Cannot overflow: at most `MAX_PAGE × size.max`.
    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_i64_is_bounded() {
        for raw in [i64::MIN, -1, 0, 1, 2, MAX_PAGE, MAX_PAGE + 1, i64::MAX] {
            let p = Paging::clamped(Some(raw), Some(raw), FEED);
            assert!((1..=MAX_PAGE).contains(&p.page()), "{raw}");
            assert!((1..=FEED.max).contains(&p.limit()), "{raw}");
            assert!(p.offset() >= 0, "{raw}");
            let ok = (1..=MAX_PAGE).contains(&raw);
            let checked = Paging::checked(Some(raw), Some(raw), FEED);
            assert_eq!(checked.is_ok(), ok, "{raw}");
            if let Err(e) = checked {
                assert_eq!(e.code(), "invalid_page");
            }
        }
        let last = Paging::checked(Some(MAX_PAGE), Some(i64::MAX), LOG).unwrap();
        assert_eq!(last.offset(), (MAX_PAGE - 1) * LOG.max);
        assert_eq!(Paging::checked(None, None, FEED).unwrap().offset(), 0);
        assert_eq!(Paging::size(None, LOG), 50);
    }
}
