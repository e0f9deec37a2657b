"""An image's package inventory as a CycloneDX SBOM (JSON), with cyclonedx-python-lib."""

from __future__ import annotations

from typing import Any


def cyclonedx_json(image_name: str, digest: str, inventory: dict[str, Any]) -> str:
    # Imported here, not at the top: the library costs every server process ~7 MB of
    # memory, and SBOMs are asked for rarely.
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output.json import JsonV1Dot5
    from packageurl import PackageURL

    bom = Bom()
    image = Component(name=image_name, version=digest, type=ComponentType.CONTAINER, bom_ref=digest)
    bom.metadata.component = image
    seen: set[str] = set()
    for package in inventory.get("packages", []):
        purl = package.get("purl")
        ref = purl or f"{package['ecosystem']}/{package['name']}@{package['version']}"
        if ref in seen:
            continue  # a multi-architecture image lists a package once
        seen.add(ref)
        bom.components.add(
            Component(
                name=package.get("display_name") or package["name"],
                version=package["version"],
                type=ComponentType.LIBRARY,
                purl=PackageURL.from_string(purl) if purl else None,
                bom_ref=ref,
            )
        )
    # The image holds every package directly: that is the whole dependency graph we know.
    bom.register_dependency(image, bom.components)
    return str(JsonV1Dot5(bom).output_as_string(indent=2))
