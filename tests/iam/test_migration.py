"""Migration 0006 gives principals made before IAM their ids: a root's is its account id
(as AWS reports a root's UserId), a user's is "AIDA" and 17 more characters."""

from __future__ import annotations

import re
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from dockyard.metadata import migrate


def test_existing_principals_get_ids(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'metadata.db'}")
    config = Config()
    config.set_main_option("script_location", str(migrate._SCRIPTS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0005")
        conn.execute(text("INSERT INTO accounts VALUES ('123456789012', CURRENT_TIMESTAMP)"))
        conn.execute(
            text(
                "INSERT INTO principals (account_id, name, kind, created_at) VALUES "
                "('123456789012', 'root', 'root', CURRENT_TIMESTAMP), "
                "('123456789012', 'ci', 'user', CURRENT_TIMESTAMP), "
                "('123456789012', 'ops', 'user', CURRENT_TIMESTAMP)"
            )
        )
    migrate.upgrade(engine)
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT name, unique_id FROM principals")).all())
        paths = set(conn.execute(text("SELECT path FROM principals")).scalars())
    engine.dispose()
    assert rows["root"] == "123456789012"
    assert re.fullmatch(r"AIDA[A-Z0-9]{17}", rows["ci"])
    assert re.fullmatch(r"AIDA[A-Z0-9]{17}", rows["ops"]) and rows["ops"] != rows["ci"]
    assert paths == {"/"}
