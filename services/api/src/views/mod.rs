//! Query endpoints: the read models, served tenant-scoped with cursor pagination, filters,
//! sorting and read-your-writes (see [`crate::read`]).
use crate::routes::Endpoint;

mod catalog;
mod lab;
mod orders;
mod patients;
mod projections;
mod search;
mod stock;

pub fn endpoints() -> Vec<Endpoint> {
    let mut all = Vec::new();
    all.extend(catalog::endpoints());
    all.extend(stock::endpoints());
    all.extend(orders::endpoints());
    all.extend(patients::endpoints());
    all.extend(lab::endpoints());
    all.extend(search::endpoints());
    all.extend(projections::endpoints());
    all
}
