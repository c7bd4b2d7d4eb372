-- The read side (ADR 0019): projector bookkeeping and the catalog's query tables.
-- Every query table belongs to one projection and is only written by it; the projection's
-- `read_<name>_versions` table is part of its set, so a rebuild swaps data and dedupe state
-- together.

-- Where each projection is in each partition, and who may move it. A new owner of a
-- partition bumps `epoch`; a write carrying an older epoch matches no row (fencing).
CREATE TABLE projection_offsets (
    projection  TEXT        NOT NULL,
    topic       TEXT        NOT NULL,
    partition   INT         NOT NULL,
    next_offset BIGINT      NOT NULL DEFAULT 0,
    epoch       BIGINT      NOT NULL DEFAULT 0,
    owner       TEXT,
    -- The partition's end when the owner last looked: lag = high_watermark - next_offset.
    high_watermark BIGINT   NOT NULL DEFAULT 0,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, topic, partition)
);

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE read_catalog_versions (
    aggregate_type TEXT   NOT NULL,
    aggregate_id   TEXT   NOT NULL,
    version        BIGINT NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id)
);

CREATE TABLE read_catalog_products (
    tenant_id   UUID        NOT NULL,
    product_id  UUID        NOT NULL PRIMARY KEY,
    kind        TEXT        NOT NULL,
    name        TEXT        NOT NULL,
    brand       TEXT        NOT NULL,
    description TEXT,
    fulfillment TEXT        NOT NULL,
    status      TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX read_catalog_products_by_tenant ON read_catalog_products (tenant_id, name, product_id);

-- One row per variant with its product's facts copied in, so both views are one scan.
CREATE TABLE read_catalog_variants (
    tenant_id        UUID        NOT NULL,
    variant_id       UUID        NOT NULL PRIMARY KEY,
    product_id       UUID        NOT NULL,
    sku              TEXT        NOT NULL,
    kind             TEXT        NOT NULL,
    attributes       JSONB       NOT NULL,
    price_minor      BIGINT      NOT NULL,
    currency         TEXT        NOT NULL,
    compare_at_minor BIGINT,
    status           TEXT        NOT NULL,
    -- Copied from the product (NULL until the product's creation was applied).
    product_name     TEXT,
    brand            TEXT,
    description      TEXT,
    product_status   TEXT,
    frame_shape      TEXT,
    frame_material   TEXT,
    colour           TEXT,
    lens_design      TEXT,
    lens_material    TEXT,
    lens_index       TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    -- Full-text document of the search fallback (ADR 0021); trigram index for misspellings.
    search_text      TEXT GENERATED ALWAYS AS (
        coalesce(product_name, '') || ' ' || coalesce(brand, '') || ' ' || sku || ' ' ||
        coalesce(frame_shape, '') || ' ' || coalesce(frame_material, '') || ' ' ||
        coalesce(colour, '') || ' ' || coalesce(lens_design, '') || ' ' || coalesce(lens_material, '')
    ) STORED,
    search_vector    TSVECTOR GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', coalesce(product_name, '') || ' ' || coalesce(brand, '')), 'A') ||
        setweight(to_tsvector('simple', sku || ' ' || coalesce(frame_shape, '') || ' ' ||
            coalesce(frame_material, '') || ' ' || coalesce(colour, '') || ' ' ||
            coalesce(lens_design, '') || ' ' || coalesce(lens_material, '')), 'B') ||
        setweight(to_tsvector('simple', coalesce(description, '')), 'C')
    ) STORED
);
CREATE INDEX read_catalog_variants_by_product ON read_catalog_variants (product_id);
CREATE INDEX read_catalog_variants_by_tenant ON read_catalog_variants (tenant_id, product_name, variant_id);
CREATE INDEX read_catalog_variants_search ON read_catalog_variants USING GIN (search_vector);
CREATE INDEX read_catalog_variants_trigram ON read_catalog_variants USING GIN (search_text gin_trgm_ops);

-- Stock availability per variant and location (projection `stock`).
CREATE TABLE read_stock_versions (
    aggregate_type TEXT   NOT NULL,
    aggregate_id   TEXT   NOT NULL,
    version        BIGINT NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id)
);

CREATE TABLE read_stock_levels (
    tenant_id   UUID        NOT NULL,
    location_id UUID        NOT NULL,
    variant_id  UUID        NOT NULL,
    on_hand     BIGINT      NOT NULL,
    reserved    BIGINT      NOT NULL,
    available   BIGINT      NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (location_id, variant_id)
);
CREATE INDEX read_stock_levels_by_variant ON read_stock_levels (tenant_id, variant_id, location_id);
