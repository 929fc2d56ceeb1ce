/**
 * Versioned schema migrations. Append only: a released migration is never edited, a change is a
 * new entry. Each runs in its own transaction together with the bump of `user_version`, so a
 * crash leaves the database at the previous version, never half-migrated.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'datasets, images, classes, labels, tags, jobs',
    sql: `
      CREATE TABLE datasets (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        root        TEXT,
        settings    TEXT NOT NULL DEFAULT '{}',
        created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
      );

      CREATE TABLE images (
        id           INTEGER PRIMARY KEY,
        dataset_id   INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        path         TEXT NOT NULL,
        rel_path     TEXT NOT NULL,
        hash         TEXT,
        format       TEXT,
        width        INTEGER,
        height       INTEGER,
        channels     INTEGER,
        bit_depth    INTEGER,
        bytes        INTEGER NOT NULL,
        mtime_ms     INTEGER NOT NULL,
        status       TEXT NOT NULL CHECK (status IN ('ok', 'duplicate', 'failed')),
        error        TEXT,
        duplicate_of INTEGER REFERENCES images(id) ON DELETE SET NULL,
        split        TEXT CHECK (split IN ('train', 'val', 'test')),
        imported_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        UNIQUE (dataset_id, rel_path)
      );
      CREATE INDEX images_by_hash   ON images(dataset_id, hash);
      CREATE INDEX images_by_status ON images(dataset_id, status, id);
      CREATE INDEX images_by_name   ON images(dataset_id, rel_path);

      CREATE TABLE classes (
        id         INTEGER PRIMARY KEY,
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        name       TEXT NOT NULL,
        color      TEXT,
        UNIQUE (dataset_id, name)
      );

      CREATE TABLE labels (
        image_id   INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        class_id   INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
        source     TEXT NOT NULL CHECK (source IN ('human', 'import', 'cluster', 'label-model', 'model')),
        confidence REAL NOT NULL DEFAULT 1 CHECK (confidence >= 0 AND confidence <= 1),
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        PRIMARY KEY (image_id, class_id, source)
      );
      CREATE INDEX labels_by_class ON labels(class_id, image_id);

      CREATE TABLE tags (
        id   INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE
      );
      CREATE TABLE image_tags (
        image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        tag_id   INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
        PRIMARY KEY (image_id, tag_id)
      );
      CREATE INDEX image_tags_by_tag ON image_tags(tag_id, image_id);

      CREATE TABLE jobs (
        id          INTEGER PRIMARY KEY,
        kind        TEXT NOT NULL,
        title       TEXT NOT NULL,
        params      TEXT NOT NULL DEFAULT '{}',
        state       TEXT NOT NULL CHECK (state IN ('queued', 'running', 'paused', 'done', 'failed', 'cancelled', 'interrupted')),
        done        INTEGER NOT NULL DEFAULT 0,
        total       INTEGER,
        metrics     TEXT NOT NULL DEFAULT '{}',
        result      TEXT,
        error       TEXT,
        pid         INTEGER,
        created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        started_at  TEXT,
        updated_at  TEXT,
        finished_at TEXT
      );
      CREATE INDEX jobs_by_state ON jobs(state);
    `,
  },
  {
    version: 2,
    name: 'indexes that serve the grid: every filter × sort pair walks an index, no sort step',
    sql: `
      CREATE INDEX images_by_status_name   ON images(dataset_id, status, rel_path);
      CREATE INDEX images_by_bytes         ON images(dataset_id, bytes);
      CREATE INDEX images_by_status_bytes  ON images(dataset_id, status, bytes);
      CREATE INDEX images_by_width         ON images(dataset_id, width);
      CREATE INDEX images_by_status_width  ON images(dataset_id, status, width);
      CREATE INDEX images_by_height        ON images(dataset_id, height);
      CREATE INDEX images_by_status_height ON images(dataset_id, status, height);
    `,
  },
  {
    version: 3,
    name: 'label count per image, kept by triggers, so "unlabelled" is an index range',
    sql: `
      ALTER TABLE images ADD COLUMN label_count INTEGER NOT NULL DEFAULT 0;
      UPDATE images SET label_count = (SELECT COUNT(*) FROM labels WHERE labels.image_id = images.id);
      CREATE TRIGGER labels_count_insert AFTER INSERT ON labels BEGIN
        UPDATE images SET label_count = label_count + 1 WHERE id = NEW.image_id;
      END;
      CREATE TRIGGER labels_count_delete AFTER DELETE ON labels BEGIN
        UPDATE images SET label_count = label_count - 1 WHERE id = OLD.image_id;
      END;
      CREATE TRIGGER labels_count_move AFTER UPDATE OF image_id ON labels BEGIN
        UPDATE images SET label_count = label_count - 1 WHERE id = OLD.image_id;
        UPDATE images SET label_count = label_count + 1 WHERE id = NEW.image_id;
      END;
      CREATE INDEX images_by_status_labeled_name ON images(dataset_id, status, label_count, rel_path);
      -- (dataset_id, rowid): import order of one dataset without reading table rows.
      CREATE INDEX images_by_dataset ON images(dataset_id);
    `,
  },
  {
    version: 4,
    name: 'training runs, their metric series, and embedding matrices',
    sql: `
      CREATE TABLE runs (
        id          INTEGER PRIMARY KEY,
        dataset_id  INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        job_id      INTEGER REFERENCES jobs(id) ON DELETE SET NULL,
        name        TEXT NOT NULL,
        method      TEXT NOT NULL,
        config      TEXT NOT NULL,
        backend     TEXT,
        device      TEXT,
        step        INTEGER NOT NULL DEFAULT 0,
        total_steps INTEGER,
        checkpoint  TEXT,
        encoder     TEXT,
        data_hash   TEXT,
        created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        updated_at  TEXT
      );
      CREATE INDEX runs_by_dataset ON runs(dataset_id, id);

      -- One row per (run, metric, step): loss every step, lr, images/s, kNN accuracy, …
      CREATE TABLE run_metrics (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        name   TEXT NOT NULL,
        step   INTEGER NOT NULL,
        value  REAL NOT NULL,
        PRIMARY KEY (run_id, name, step)
      ) WITHOUT ROWID;

      CREATE TABLE embeddings (
        id         INTEGER PRIMARY KEY,
        run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        file       TEXT NOT NULL,
        dim        INTEGER NOT NULL,
        count      INTEGER NOT NULL,
        data_hash  TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
      );
      CREATE INDEX embeddings_by_run ON embeddings(run_id, id);
    `,
  },
  {
    version: 5,
    name: 'clusterings of embeddings, their clusters and members, the undo log of explorer edits',
    sql: `
      CREATE TABLE clusterings (
        id           INTEGER PRIMARY KEY,
        dataset_id   INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        embedding_id INTEGER NOT NULL REFERENCES embeddings(id) ON DELETE CASCADE,
        algo         TEXT NOT NULL CHECK (algo IN ('kmeans', 'sk', 'sela')),
        k            INTEGER NOT NULL,
        heads        INTEGER NOT NULL DEFAULT 1,
        params       TEXT NOT NULL,
        scores       TEXT,
        created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
      );
      CREATE INDEX clusterings_by_dataset ON clusterings(dataset_id, id);

      -- Clusters of the primary head, as the explorer edits them.
      CREATE TABLE clusters (
        clustering_id INTEGER NOT NULL REFERENCES clusterings(id) ON DELETE CASCADE,
        idx           INTEGER NOT NULL,
        name          TEXT,
        class_id      INTEGER REFERENCES classes(id) ON DELETE SET NULL,
        state         TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'merged', 'discarded')),
        centroid      BLOB,
        PRIMARY KEY (clustering_id, idx)
      ) WITHOUT ROWID;

      -- Assignment per head; head 0 is the one the explorer edits.
      CREATE TABLE cluster_members (
        clustering_id INTEGER NOT NULL REFERENCES clusterings(id) ON DELETE CASCADE,
        head          INTEGER NOT NULL,
        image_id      INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        cluster       INTEGER NOT NULL,
        confidence    REAL NOT NULL,
        outlier       INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (clustering_id, head, image_id)
      ) WITHOUT ROWID;
      CREATE INDEX cluster_members_by_cluster ON cluster_members(clustering_id, head, cluster, confidence);

      -- Explorer edits, newest last; each holds what undoing it needs.
      CREATE TABLE cluster_edits (
        id            INTEGER PRIMARY KEY,
        clustering_id INTEGER NOT NULL REFERENCES clusterings(id) ON DELETE CASCADE,
        kind          TEXT NOT NULL,
        undo          TEXT NOT NULL,
        created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
      );

      -- 2-D maps of embeddings (UMAP), cached per embedding.
      CREATE TABLE maps (
        id           INTEGER PRIMARY KEY,
        embedding_id INTEGER NOT NULL REFERENCES embeddings(id) ON DELETE CASCADE,
        file         TEXT NOT NULL,
        params       TEXT NOT NULL,
        created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
      );
    `,
  },
  {
    version: 6,
    name: 'interactive weak supervision sessions: candidate LFs, the expert\'s answers',
    sql: `
      CREATE TABLE iws_sessions (
        id           INTEGER PRIMARY KEY,
        dataset_id   INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        embedding_id INTEGER NOT NULL REFERENCES embeddings(id) ON DELETE CASCADE,
        -- [{ name, examples: [image ids] }] in class-index order
        classes      TEXT NOT NULL,
        params       TEXT NOT NULL DEFAULT '{}',
        result       TEXT,
        created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
      );
      CREATE INDEX iws_sessions_by_dataset ON iws_sessions(dataset_id, id);

      -- Candidate LFs; fires holds ascending embedding row indices (uint32 LE), margin float32 LE.
      CREATE TABLE iws_lfs (
        session_id  INTEGER NOT NULL REFERENCES iws_sessions(id) ON DELETE CASCADE,
        idx         INTEGER NOT NULL,
        key         TEXT NOT NULL,
        family      TEXT NOT NULL,
        grp         TEXT,
        description TEXT NOT NULL,
        class_index INTEGER NOT NULL,
        fires       BLOB NOT NULL,
        margin      BLOB,
        PRIMARY KEY (session_id, idx)
      ) WITHOUT ROWID;

      CREATE TABLE iws_answers (
        id          INTEGER PRIMARY KEY,
        session_id  INTEGER NOT NULL REFERENCES iws_sessions(id) ON DELETE CASCADE,
        lf_idx      INTEGER NOT NULL,
        answer      TEXT NOT NULL CHECK (answer IN ('useful', 'likely', 'unlikely', 'not', 'unsure')),
        created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        UNIQUE (session_id, lf_idx)
      );
    `,
  },
  {
    version: 7,
    name: 'thumbnails to redraw: grey + alpha images drawn by the old renderer',
    // Before 2026-11-25 a grey + alpha image (channels = 2, ≤ 8 bits, a format with transparency)
    // was drawn as two bands, its alpha in green. Its thumbnail is listed here; the host redraws
    // what is listed in a background job when the project opens, deleting each row when done.
    // A later renderer change that alters thumbnails lists what it alters the same way.
    sql: `
      CREATE TABLE stale_thumbnails (hash TEXT PRIMARY KEY) WITHOUT ROWID;
      INSERT OR IGNORE INTO stale_thumbnails
        SELECT DISTINCT hash FROM images
        WHERE status = 'ok' AND hash IS NOT NULL AND channels = 2 AND bit_depth <= 8
          AND format IN ('png', 'webp', 'gif', 'heic', 'avif');
    `,
  },
  {
    version: 8,
    name: 'IWS rule novelty: the share of a rule\'s images a model of the examples alone puts in another class',
    // The usefulness ensemble's prior reads it (acquisition.ts usefulnessPrior). Sessions prepared
    // before have none: their prior is the example images' word alone.
    sql: `ALTER TABLE iws_lfs ADD COLUMN novelty REAL;`,
  },
];

export const latestVersion = migrations[migrations.length - 1]!.version;
