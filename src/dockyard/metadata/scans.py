"""Image scan results and the registry's scanning configuration."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, null, select, update

from dockyard.domain.digests import Digest
from dockyard.domain.records import RepositoryKey, Scope
from dockyard.domain.scanning import ScanRecord
from dockyard.metadata.common import aware, require_repository
from dockyard.metadata.database import reading, upsert, writing
from dockyard.metadata.tables import image_scans, registry_scanning


def _record(row: Any, full: bool) -> ScanRecord:
    return ScanRecord(
        digest=row.digest,
        status=row.status,
        description=row.description,
        scan_type=row.scan_type,
        started_at=aware(row.started_at),
        completed_at=aware(row.completed_at) if row.completed_at else None,
        source_updated_at=aware(row.source_updated_at) if row.source_updated_at else None,
        counts=dict(row.counts or {}),
        findings=list(row.findings or []) if full else [],
        inventory=row.inventory if full else None,
    )


class ScanStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def start(self, key: RepositoryKey, digest: Digest, scan_type: str, now: datetime) -> None:
        with writing(self._engine) as conn:
            rid = require_repository(conn, key)
            # A new scan replaces the last one whole (of two at once, the later wins).
            row = {
                "repository_id": rid,
                "digest": str(digest),
                "status": "IN_PROGRESS",
                "description": None,
                "scan_type": scan_type,
                "started_at": now,
                "completed_at": None,
                "source_updated_at": None,
                "counts": {},
                "findings": [],
                "inventory": null(),  # SQL NULL, not JSON null
            }
            upsert(conn, image_scans, row, ["repository_id", "digest"])

    def finish(
        self,
        key: RepositoryKey,
        digest: Digest,
        status: str,
        description: str | None,
        counts: dict[str, int],
        findings: list[dict[str, Any]],
        inventory: dict[str, Any] | None,
        source_updated_at: datetime | None,
        now: datetime,
    ) -> None:
        with writing(self._engine) as conn:
            rid = require_repository(conn, key)
            conn.execute(
                update(image_scans)
                .where(image_scans.c.repository_id == rid, image_scans.c.digest == str(digest))
                .values(
                    status=status,
                    description=description,
                    counts=counts,
                    findings=findings,
                    inventory=inventory,
                    source_updated_at=source_updated_at,
                    completed_at=now,
                )
            )

    def get(self, key: RepositoryKey, digest: Digest) -> ScanRecord | None:
        with reading(self._engine) as conn:
            rid = require_repository(conn, key)
            row = conn.execute(
                select(image_scans).where(
                    image_scans.c.repository_id == rid, image_scans.c.digest == str(digest)
                )
            ).first()
        return _record(row, full=True) if row else None

    def summaries(self, key: RepositoryKey, digests: list[str]) -> dict[str, ScanRecord]:
        columns = [c for c in image_scans.c if c.name not in ("findings", "inventory")]
        with reading(self._engine) as conn:
            rid = require_repository(conn, key)
            rows = conn.execute(
                select(*columns).where(
                    image_scans.c.repository_id == rid, image_scans.c.digest.in_(digests)
                )
            ).all()
        return {r.digest: _record(r, full=False) for r in rows}

    def configuration(self, scope: Scope) -> tuple[str, list[dict[str, Any]]] | None:
        with reading(self._engine) as conn:
            row = conn.execute(
                select(registry_scanning.c.scan_type, registry_scanning.c.rules).where(
                    registry_scanning.c.account_id == scope.account_id,
                    registry_scanning.c.region == scope.region,
                )
            ).first()
        return (row.scan_type, list(row.rules)) if row else None

    def put_configuration(self, scope: Scope, scan_type: str, rules: list[dict[str, Any]]) -> None:
        row = {
            "account_id": scope.account_id,
            "region": scope.region,
            "scan_type": scan_type,
            "rules": rules,
        }
        with writing(self._engine) as conn:
            upsert(conn, registry_scanning, row, ["account_id", "region"])
