//! The diesel schema of the `minigroups` table on SQLite.

diesel::table! {
    /// Pending reservations and established minigroups.
    minigroups (id) {
        /// The minigroup's UUID (`class_id`), hyphenated.
        id -> Text,
        /// Its audience.
        audience -> Text,
        /// Its scope, unique within the audience.
        scope -> Text,
        /// Lesson start, unix seconds.
        time_start -> Nullable<BigInt>,
        /// Lesson end, unix seconds.
        time_end -> Nullable<BigInt>,
        /// Tags, a JSON object as text.
        tags -> Nullable<Text>,
        /// Media slots to reserve.
        reserve -> Nullable<Integer>,
        /// The host account id.
        host -> Nullable<Text>,
        /// The event room's id, hyphenated.
        event_room_id -> Nullable<Text>,
        /// The start last sent to the event room.
        event_room_start -> Nullable<BigInt>,
        /// The conference room's id, hyphenated.
        conference_room_id -> Nullable<Text>,
        /// The start last sent to the conference room.
        conference_room_start -> Nullable<BigInt>,
        /// Whether both rooms exist (false = pending reservation).
        established -> Bool,
        /// When it was reserved, unix seconds.
        created_at -> BigInt,
    }
}
