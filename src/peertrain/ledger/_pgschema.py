"""The PostgreSQL ledger's layout, for :mod:`peertrain.ledger.postgres`: the schema as migrations,
its version, and how a database is recognised as a peertrain ledger.

Everything lives in the database schema ``peertrain`` (so a database may hold other things
beside it); its table ``ledger_version`` holds the number of migrations applied, which is the
ledger's schema version. The migrations mirror the SQLite ledger's, one for one, so a schema
version means the same tables in both.

Ids that are compared or sorted (members, records) are ``COLLATE "C"``: byte order, as SQLite
sorts, whatever the database's locale. Batch, held, rejected and notice ids are identity columns
(sequences), so allocating one never reads the others' rows. Hours stay text, as the source
wrote them (``1.50`` is not ``1.5`` to an auditor); dates are ``date`` and times ``timestamptz``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from peertrain.ledger import LedgerError
from peertrain.ledger._journal import Journal
from peertrain.ledger._pgdigest import copy_digest

#: The database schema (namespace) that holds a ledger's tables.
SCHEMA = "peertrain"

#: Taken, for the length of a transaction, by whoever creates or migrates a ledger.
_LOCK = 0x5054524E  # "PTRN", the SQLite ledger's application id
#: Taken, for the length of a transaction, by whoever appends to the journal.
JOURNAL_LOCK = 0x5054524A  # "PTRJ"
_CURSORS = itertools.count(1)

#: Who may see a row of an agency (``agency_id``): the administrator, a consortium role, or a role
#: of that agency. Each function call is a scalar subquery, run once per statement, not per row.
#: The functions read ``peertrain.roles`` by ``current_user`` (the connected role, which a client
#: cannot change as it could a setting), with their own search path, so that no operator or
#: function a role made elsewhere can stand in for the ones they use.
_SEES = (
    "((SELECT peertrain.role_kind()) IN ('administrator', 'consortium') "
    "OR agency_id = (SELECT peertrain.role_agency()))"
)
#: Who may write a row of an agency: the administrator, or a role of that agency.
_WRITES = "((SELECT peertrain.role_kind()) = 'administrator' OR agency_id = (SELECT peertrain.role_agency()))"
#: The tables whose rows carry their agency.
AGENCY_TABLES = ("members", "batches", "held", "rejected", "cursors", "notices")

_AGENCIES = (
    """
    CREATE TABLE agencies (id text COLLATE "C" PRIMARY KEY, name text NOT NULL);
    INSERT INTO agencies (id, name) VALUES ('local', '');
    INSERT INTO meta (key, value) VALUES ('agency', 'local');
    CREATE TABLE roles (
        role text COLLATE "C" PRIMARY KEY, agency_id text COLLATE "C" REFERENCES agencies(id),
        kind text NOT NULL CHECK (kind IN ('administrator', 'agency', 'consortium')),
        CHECK ((kind = 'agency') = (agency_id IS NOT NULL))
    );
    INSERT INTO roles (role, kind) VALUES (current_user, 'administrator');
    CREATE TABLE transfers (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, member_id text COLLATE "C" NOT NULL,
        from_agency text COLLATE "C" NOT NULL REFERENCES agencies(id),
        to_agency text COLLATE "C" NOT NULL REFERENCES agencies(id), at timestamptz NOT NULL
    );
    CREATE FUNCTION role_kind() RETURNS text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
        AS $$ SELECT kind FROM peertrain.roles WHERE role = current_user $$;
    CREATE FUNCTION role_agency() RETURNS text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
        AS $$ SELECT agency_id FROM peertrain.roles WHERE role = current_user AND kind = 'agency' $$;
    CREATE FUNCTION writer_agency() RETURNS text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
        AS $$ SELECT coalesce(peertrain.role_agency(), (SELECT value FROM peertrain.meta WHERE key = 'agency')) $$;
    """
    + "".join(
        f"""
    ALTER TABLE {table} ADD COLUMN agency_id text COLLATE "C" NOT NULL DEFAULT 'local' REFERENCES agencies(id);
    ALTER TABLE {table} ALTER COLUMN agency_id SET DEFAULT peertrain.writer_agency();
    CREATE INDEX {table}_agency ON {table}(agency_id);
    ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
    ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
    CREATE POLICY agency ON {table} USING {_SEES} WITH CHECK {_WRITES};
    """
        for table in AGENCY_TABLES
    )
    + """
    ALTER TABLE cursors DROP CONSTRAINT cursors_pkey;
    ALTER TABLE cursors ADD PRIMARY KEY (agency_id, source);
    ALTER TABLE held DROP CONSTRAINT held_source_fingerprint_key;
    ALTER TABLE held ADD UNIQUE (agency_id, source, fingerprint);
    ALTER TABLE records ENABLE ROW LEVEL SECURITY;
    ALTER TABLE records FORCE ROW LEVEL SECURITY;
    CREATE POLICY agency ON records
        USING ((SELECT peertrain.role_kind()) IN ('administrator', 'consortium')
            OR member_id IN (SELECT id FROM members))
        WITH CHECK ((SELECT peertrain.role_kind()) = 'administrator'
            OR member_id IN (SELECT id FROM members WHERE agency_id = (SELECT peertrain.role_agency())));
    ALTER TABLE meta ENABLE ROW LEVEL SECURITY;
    ALTER TABLE meta FORCE ROW LEVEL SECURITY;
    CREATE POLICY agency ON meta
        USING ((SELECT peertrain.role_kind()) IN ('administrator', 'consortium') OR key NOT LIKE 'retracted:%'
            OR EXISTS (SELECT 1 FROM batches b WHERE meta.key = 'retracted:' || b.id))
        WITH CHECK ((SELECT peertrain.role_kind()) = 'administrator' OR (key LIKE 'retracted:%'
            AND EXISTS (SELECT 1 FROM batches b WHERE meta.key = 'retracted:' || b.id
                AND b.agency_id = (SELECT peertrain.role_agency()))));
    ALTER TABLE transfers ENABLE ROW LEVEL SECURITY;
    ALTER TABLE transfers FORCE ROW LEVEL SECURITY;
    CREATE POLICY agency ON transfers
        USING ((SELECT peertrain.role_kind()) IN ('administrator', 'consortium')
            OR (SELECT peertrain.role_agency()) IN (from_agency, to_agency))
        WITH CHECK ((SELECT peertrain.role_kind()) = 'administrator');
    """
)

_SUBMISSIONS_BY_AGENCY = """
    ALTER TABLE submissions ALTER COLUMN member_id TYPE text COLLATE "C";
    ALTER TABLE submissions ADD COLUMN agency_id text COLLATE "C" REFERENCES agencies(id);
    UPDATE submissions s SET agency_id = coalesce(
        (SELECT m.agency_id FROM members m WHERE m.id = s.member_id),
        (SELECT value FROM meta WHERE key = 'agency'));
    ALTER TABLE submissions ALTER COLUMN agency_id SET NOT NULL;
    CREATE INDEX submissions_agency ON submissions(agency_id);
    CREATE INDEX submissions_evidence ON submissions(evidence_sha256);
    ALTER TABLE submissions ENABLE ROW LEVEL SECURITY;
    ALTER TABLE submissions FORCE ROW LEVEL SECURITY;
    CREATE POLICY agency ON submissions USING """ + _SEES + """
        WITH CHECK (""" + _WRITES + """
            AND member_id IN (SELECT m.id FROM members m WHERE m.agency_id = submissions.agency_id));
    ALTER TABLE submission_events ENABLE ROW LEVEL SECURITY;
    ALTER TABLE submission_events FORCE ROW LEVEL SECURITY;
    CREATE POLICY agency ON submission_events
        USING ((SELECT peertrain.role_kind()) IN ('administrator', 'consortium')
            OR submission_id IN (SELECT id FROM submissions))
        WITH CHECK ((SELECT peertrain.role_kind()) = 'administrator'
            OR submission_id IN (SELECT id FROM submissions WHERE agency_id = (SELECT peertrain.role_agency())));
    ALTER TABLE evidence ENABLE ROW LEVEL SECURITY;
    ALTER TABLE evidence FORCE ROW LEVEL SECURITY;
    CREATE POLICY agency ON evidence
        USING ((SELECT peertrain.role_kind()) IN ('administrator', 'consortium')
            OR sha256 IN (SELECT evidence_sha256 FROM submissions))
        WITH CHECK ((SELECT peertrain.role_kind()) IN ('administrator', 'agency'))
"""

MIGRATIONS: tuple[str, ...] = (
    # 1: the ledger
    """
    CREATE TABLE meta (key text COLLATE "C" PRIMARY KEY, value text NOT NULL);
    CREATE TABLE members (
        id text COLLATE "C" PRIMARY KEY, name text NOT NULL, agency text NOT NULL DEFAULT '',
        roles text NOT NULL, functions text NOT NULL, joined_on date,
        email text UNIQUE, portal_user_id text UNIQUE
    );
    CREATE TABLE batches (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, source text NOT NULL, profile text NOT NULL,
        file_name text NOT NULL, file_hash text NOT NULL, imported_at timestamptz NOT NULL,
        rows_read bigint NOT NULL DEFAULT 0, imported bigint NOT NULL DEFAULT 0,
        not_completed bigint NOT NULL DEFAULT 0, duplicates bigint NOT NULL DEFAULT 0,
        rejected bigint NOT NULL DEFAULT 0, unmatched bigint NOT NULL DEFAULT 0,
        retracted_at timestamptz
    );
    CREATE INDEX batches_hash ON batches(source, file_hash);
    CREATE TABLE records (
        id text COLLATE "C" PRIMARY KEY, batch_id bigint NOT NULL REFERENCES batches(id),
        member_id text COLLATE "C" NOT NULL, course_id text NOT NULL, on_date date,
        status text NOT NULL, hours text, delivery text, provider text,
        source text NOT NULL, record_id text, origin text NOT NULL
    );
    CREATE UNIQUE INDEX records_source_record ON records(source, record_id, status)
        WHERE record_id IS NOT NULL;
    CREATE INDEX records_batch ON records(batch_id);
    CREATE INDEX records_member ON records(member_id);
    CREATE TABLE held (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, batch_id bigint NOT NULL REFERENCES batches(id),
        source text NOT NULL, origin text NOT NULL, reason text NOT NULL,
        fingerprint text NOT NULL, payload text NOT NULL, record_id text, UNIQUE (source, fingerprint)
    );
    CREATE INDEX held_batch ON held(batch_id);
    CREATE INDEX held_record ON held(source, record_id) WHERE record_id IS NOT NULL;
    CREATE TABLE rejected (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, batch_id bigint NOT NULL REFERENCES batches(id),
        file text NOT NULL, "row" bigint NOT NULL, field text, reason text NOT NULL,
        raw text NOT NULL
    );
    CREATE INDEX rejected_batch ON rejected(batch_id);
    """,
    # 2: where incremental pulls from an LRS or LMS left off, per source
    """
    CREATE TABLE cursors (source text PRIMARY KEY, position text NOT NULL, updated_at timestamptz NOT NULL);
    """,
    # 3: e-mail notices (peertrain notify)
    """
    CREATE TABLE notices (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, key text NOT NULL UNIQUE, kind text NOT NULL,
        agency text NOT NULL, member_id text NOT NULL, requirement text NOT NULL,
        deadline date NOT NULL, stage text NOT NULL, recipient text NOT NULL,
        subject text NOT NULL, message_id text NOT NULL, message bytea NOT NULL,
        state text NOT NULL, attempts integer NOT NULL, attempted_at timestamptz NOT NULL,
        finished_at timestamptz, detail text
    );
    CREATE INDEX notices_state ON notices(state);
    """,
    # 4: self-reported training (the SQLite ledger's schema 4; served once submissions have agencies, below)
    """
    CREATE TABLE evidence (
        sha256 text PRIMARY KEY, media_type text NOT NULL, size bigint NOT NULL, content bytea NOT NULL
    );
    CREATE TABLE submissions (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, member_id text NOT NULL, course_id text NOT NULL,
        on_date date NOT NULL, hours text, delivery text, provider text,
        evidence_sha256 text NOT NULL REFERENCES evidence(sha256), evidence_name text NOT NULL,
        submitted_by text NOT NULL, submitted_at timestamptz NOT NULL
    );
    CREATE TABLE submission_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, submission_id bigint NOT NULL REFERENCES submissions(id),
        action text NOT NULL, actor text NOT NULL, at timestamptz NOT NULL, note text,
        batch_id bigint REFERENCES batches(id)
    );
    CREATE INDEX submission_events_submission ON submission_events(submission_id, id);
    """,
    # 5: agencies, and row-level security keeping each agency's rows to its own roles
    _AGENCIES,
    # 6: the journal (peertrain.ledger._journal), as the SQLite ledger's; appends are serialised
    # by an advisory lock (JOURNAL_LOCK), so two writers never fork the chain. An agency's role
    # sees the entries of its own batches only, and appends after the head it reads through
    # journal_head() (the administrator's view: the last entry's number and hash, nothing else);
    # batch_row_counts() tells it whether it sees the whole of its own batch (see journal())
    """
    CREATE TABLE journal (
        seq bigint PRIMARY KEY, kind text NOT NULL, ref bigint NOT NULL, content text NOT NULL,
        content_sha256 text NOT NULL, prev_sha256 text NOT NULL, sha256 text NOT NULL
    );
    CREATE INDEX journal_ref ON journal(ref);
    ALTER TABLE journal ENABLE ROW LEVEL SECURITY;
    ALTER TABLE journal FORCE ROW LEVEL SECURITY;
    CREATE POLICY agency ON journal
        USING ((SELECT peertrain.role_kind()) IN ('administrator', 'consortium')
            OR (kind <> 'transfer' AND ref IN (SELECT id FROM batches)))
        WITH CHECK ((SELECT peertrain.role_kind()) = 'administrator'
            OR (kind <> 'transfer'
                AND ref IN (SELECT id FROM batches WHERE agency_id = (SELECT peertrain.role_agency()))));
    CREATE FUNCTION journal_head() RETURNS TABLE (seq bigint, sha256 text)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
        AS $$ SELECT j.seq, j.sha256 FROM peertrain.journal j ORDER BY j.seq DESC LIMIT 1 $$;
    CREATE FUNCTION batch_row_counts(batch bigint) RETURNS TABLE (records bigint, held bigint, rejected bigint)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
        AS $$ SELECT (SELECT count(*) FROM peertrain.records r WHERE r.batch_id = batch),
            (SELECT count(*) FROM peertrain.held h WHERE h.batch_id = batch),
            (SELECT count(*) FROM peertrain.rejected x WHERE x.batch_id = batch)
        WHERE EXISTS (SELECT 1 FROM peertrain.batches b JOIN peertrain.roles o ON o.role = session_user
            WHERE b.id = batch AND (o.kind <> 'agency' OR o.agency_id = b.agency_id)) $$;
    """,
    # 7: a submission belongs to its member's agency (agency_id, moved with the member by a
    # transfer; written as a member of that agency only); its review events follow it, and so
    # does its evidence file, which is stored once per SHA-256 for the whole ledger: an agency's
    # role sees the evidence its own submissions name, and no other, and may add evidence
    _SUBMISSIONS_BY_AGENCY,
)


def journal(db: Any) -> Journal:
    """The journal of the ledger open on ``db`` (a psycopg connection whose search path is the
    ledger's schema): appends take :data:`JOURNAL_LOCK` until the transaction ends, so concurrent
    writers append one after another and never fork the chain; records are read through a
    server-side cursor."""

    def query(sql: str, params: tuple[Any, ...]) -> Sequence[Any]:
        cursor = db.execute(sql.replace("?", "%s"), params)
        return cursor.fetchall() if cursor.description is not None else []

    def stream(sql: str, params: tuple[Any, ...]) -> Iterator[Any]:
        with db.cursor(name=f"peertrain_journal_{next(_CURSORS)}", withhold=True) as cursor:
            cursor.itersize = 5000
            cursor.execute(sql.replace("?", "%s"), params)
            yield from cursor

    def lock() -> None:
        db.execute("SELECT pg_advisory_xact_lock(%s)", (JOURNAL_LOCK,))

    def whole(batch_id: int) -> None:
        # An agency's role sees only its members' rows. A batch of its own can hold rows of a
        # member since moved to another agency: an entry computed over what it sees would not be
        # the batch's content, so the change is refused (the administrator sees the whole batch).
        seen = db.execute(
            "SELECT (SELECT count(*) FROM records WHERE batch_id = %s), (SELECT count(*) FROM held WHERE "
            "batch_id = %s), (SELECT count(*) FROM rejected WHERE batch_id = %s)", (batch_id,) * 3,
        ).fetchone()
        full = db.execute("SELECT * FROM batch_row_counts(%s)", (batch_id,)).fetchone()
        if full is not None and tuple(full) != tuple(seen or ()):
            raise LedgerError(
                f"batch {batch_id} holds rows of members now in another agency (moved by 'ledger transfer'); "
                "only the ledger's administrator can change it"
            )

    def digest(part: str, sql: str, params: tuple[Any, ...]) -> dict[str, Any] | None:
        return copy_digest(db, part, sql, params)

    return Journal(
        query, stream=stream, lock=lock, collate=' COLLATE "C"', on_date="on_date::text",
        head_sql="SELECT seq, sha256 FROM journal_head()", whole=whole, digest=digest,
    )


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def installed_version(db: Any, shown: str) -> int | None:
    """The schema version of the ledger in this database; ``None`` when it holds none.

    A ``peertrain`` schema with tables but no version is not a ledger (refused).
    """
    row = db.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.ledger_version",)).fetchone()
    if row[0] is not None:
        version = db.execute(f"SELECT max(version) FROM {SCHEMA}.ledger_version").fetchone()[0]
        return int(version or 0)
    tables = db.execute(
        "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = %s", (SCHEMA,)
    ).fetchone()[0]
    if tables:
        raise LedgerError(f"{shown}: the database has a '{SCHEMA}' schema, but it is not a peertrain ledger")
    return None


def check_version(version: int, shown: str) -> None:
    """Refuse a ledger whose schema is newer than this peertrain's."""
    if version > len(MIGRATIONS):
        raise LedgerError(
            f"{shown}: ledger schema {version} is newer than this peertrain understands "
            f"({len(MIGRATIONS)}); upgrade peertrain"
        )


#: The first schema version that has roles (``peertrain.roles``): the migration that made them.
_ROLES_SINCE = MIGRATIONS.index(_AGENCIES) + 1


def migrate(
    db: Any, shown: str, *, create_timezone: str | None, regrant: Callable[[Any], None] | None = None
) -> None:
    """Create the ledger (with ``create_timezone``) or bring it to the current schema, in one
    transaction, under an advisory lock so that two processes never migrate at once. ``regrant``
    is then called, in the transaction, when a ledger that has roles was migrated: it gives the
    roles already granted their rights on what the migrations added."""
    with db.transaction():
        db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        version = installed_version(db, shown)
        if version is None:
            if create_timezone is None:
                raise LedgerError(
                    f"{shown}: no peertrain ledger in this database; create it with 'peertrain ledger init'"
                )
            db.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
            db.execute(f"CREATE TABLE {SCHEMA}.ledger_version (version integer NOT NULL)")
            db.execute(f"INSERT INTO {SCHEMA}.ledger_version VALUES (0)")
            version = 0
        elif create_timezone is not None and version > 0:
            raise LedgerError(f"{shown}: already holds a peertrain ledger; not overwriting it")
        check_version(version, shown)
        if version == len(MIGRATIONS):
            return
        db.execute(f"SET LOCAL search_path = {SCHEMA}")
        journalled = db.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.journal",)).fetchone()[0] is not None
        for number in range(version, len(MIGRATIONS)):
            for statement in _statements(MIGRATIONS[number]):
                db.execute(statement)
        if not journalled:  # the batches of a ledger made before the journal, as they stand
            journal(db).backfill()
        if version == 0:
            db.execute("INSERT INTO meta (key, value) VALUES ('timezone', %s)", (create_timezone or "UTC",))
        elif version >= _ROLES_SINCE and regrant is not None:
            regrant(db)
        db.execute("UPDATE ledger_version SET version = %s", (len(MIGRATIONS),))
