-- Minigroups: pending reservations (established = false) and established
-- minigroups with both rooms. At most one row per (audience, scope).
CREATE TABLE minigroups (
    id                    UUID    PRIMARY KEY,
    audience              TEXT    NOT NULL,
    scope                 TEXT    NOT NULL,
    time_start            BIGINT  NULL,
    time_end              BIGINT  NULL,
    tags                  JSONB   NULL,
    reserve               INTEGER NULL,
    host                  TEXT    NULL,
    event_room_id         UUID    NULL,
    event_room_start      BIGINT  NULL,
    conference_room_id    UUID    NULL,
    conference_room_start BIGINT  NULL,
    established           BOOLEAN NOT NULL DEFAULT FALSE,
    created_at            BIGINT  NOT NULL,
    CONSTRAINT minigroups_audience_scope_key UNIQUE (audience, scope),
    CONSTRAINT minigroups_established_has_rooms
        CHECK (NOT established OR (event_room_id IS NOT NULL AND conference_room_id IS NOT NULL)),
    CONSTRAINT minigroups_time_order
        CHECK (time_start IS NULL OR time_end IS NULL OR time_start < time_end),
    CONSTRAINT minigroups_reserve_non_negative CHECK (reserve IS NULL OR reserve >= 0),
    CONSTRAINT minigroups_tags_object CHECK (tags IS NULL OR jsonb_typeof(tags) = 'object')
);
