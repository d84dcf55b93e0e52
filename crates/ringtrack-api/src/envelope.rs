//! Success bodies: `{"data": …}`, and the paging fields every list carries.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ringtrack_domain::PageRequest;
use ringtrack_store::Page;
use serde::Serialize;
use utoipa::ToSchema;

/// `{"data": T}` with 200 OK.
#[derive(Serialize, ToSchema)]
pub struct Data<T> {
    pub data: T,
}

impl<T> Data<T> {
    pub fn new(data: T) -> Self {
        Data { data }
    }
}

impl<T: Serialize> IntoResponse for Data<T> {
    fn into_response(self) -> Response {
        Json(self).into_response()
    }
}

/// `{"data": T}` with 201 Created.
pub struct Created<T>(pub T);

impl<T: Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        (StatusCode::CREATED, Json(Data::new(self.0))).into_response()
    }
}

/// The paging part of every list: flattened beside the list's items.
#[derive(Serialize, ToSchema)]
pub struct PageInfo {
    /// How many rows match the filters, across all pages.
    pub total: u64,
    /// The 1-based page number; null when paging by cursor.
    pub page: Option<u64>,
    pub per_page: u32,
    /// Pass as `cursor` to read the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl PageInfo {
    /// Splits a store page into its items, mapped to their API view, and the paging fields.
    pub fn split<T, V>(page: Page<T>, request: &PageRequest, view: impl FnMut(T) -> V) -> (Vec<V>, PageInfo) {
        let info = PageInfo {
            total: page.total,
            page: request.page_number(),
            per_page: request.limit,
            next_cursor: page.next_cursor.map(|c| c.encode()),
        };
        (page.items.into_iter().map(view).collect(), info)
    }
}
