//! Ids that cross context boundaries: an event of one context names entities of another
//! (a stock level names a variant and a location, an order names reservations), so both
//! sides must agree on one type. Ids private to one context stay in that context's crate.

crate::typed_id!(
    /// Identifies a product (Catalog).
    ProductId
);
crate::typed_id!(
    /// Identifies a sellable variant of a product (Catalog).
    VariantId
);
crate::typed_id!(
    /// Identifies a store (Tenancy).
    StoreId
);
crate::typed_id!(
    /// Identifies a place that holds stock: a sales floor, a back room, a warehouse (Tenancy).
    LocationId
);
crate::typed_id!(
    /// Identifies a vendor; in single-brand tenants every store is its own vendor (Tenancy).
    VendorId
);
crate::typed_id!(
    /// Identifies a shopping cart whose items are reserved (Inventory, Orders).
    CartId
);
crate::typed_id!(
    /// Identifies a stock reservation (Inventory, Orders).
    ReservationId
);
crate::typed_id!(
    /// Identifies an order (Orders).
    OrderId
);
crate::typed_id!(
    /// Identifies a patient (Customers); also the data subject whose key seals personal data.
    PatientId
);
crate::typed_id!(
    /// Identifies a prescription (Customers); orders and lab jobs copy it into snapshots.
    PrescriptionId
);
crate::typed_id!(
    /// Identifies the payment of an order (Payments).
    PaymentId
);
