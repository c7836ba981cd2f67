//! Cursor pagination: one page at a time, or every item as a `Stream`.

use std::future::Future;

use futures_util::stream::{self, Stream, TryStreamExt};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// An opaque position in a listing; pass it back exactly as received.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(String);

impl Cursor {
    pub fn new(cursor: impl Into<String>) -> Self {
        Self(cursor.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One page of a listing, newest first; `next_cursor` is `None` on the last page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub next_cursor: Option<Cursor>,
}

/// Every item of a listing, fetching the next page only when the previous one is used up.
pub(crate) fn all<T, F, Fut>(fetch: F) -> impl Stream<Item = Result<T>> + Send
where
    T: Send,
    F: FnMut(Option<Cursor>) -> Fut + Send,
    Fut: Future<Output = Result<Page<T>>> + Send,
{
    // The state's `Option<Option<Cursor>>`: outer `None` once the last page was read.
    stream::try_unfold((fetch, Some(None)), |(mut fetch, next)| async move {
        let Some(cursor) = next else {
            return Ok::<_, Error>(None);
        };
        let page = fetch(cursor).await?;
        let next = page.next_cursor.map(Some);
        let items = stream::iter(page.data.into_iter().map(Ok));
        Ok(Some((items, (fetch, next))))
    })
    .try_flatten()
}
