/**
 * An SBOM for every approval (CycloneDX 1.6 JSON, built with the CycloneDX
 * library): the approved package at its scanned commit (purl, VCS reference
 * to the private mirror and to the public origin, the commit as a property)
 * and its declared runtime dependencies, each with the specifier it was
 * declared with. Stored with the report as `sbom.cdx.json`.
 */
import { Enums, Models, Serialize, Spec } from '@cyclonedx/cyclonedx-library';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { PackageURL } from 'packageurl-js';
import type { IManifestItem } from './types';

export const SBOM_FILE = 'sbom.cdx.json';

/** `npm` when the source has a package.json at its root, else `pypi`. */
export function ecosystemOf(source: string | undefined): 'npm' | 'pypi' {
  return source && existsSync(path.join(source, 'package.json')) ? 'npm' : 'pypi';
}

export function sbomFor(item: IManifestItem, ecosystem: 'npm' | 'pypi', toolVersion = ''): string {
  const r = item.request;
  const bom = new Models.Bom();
  bom.metadata.timestamp = item.scannedAt ? new Date(item.scannedAt) : new Date();
  bom.metadata.tools.components.add(
    new Models.Component(Enums.ComponentType.Application, 'repoguard-pipeline', {
      version: toolVersion || undefined
    })
  );
  const root = new Models.Component(Enums.ComponentType.Library, r.package_name, {
    bomRef: `pkg:${r.package_name}`,
    purl: new PackageURL(
      ecosystem,
      undefined,
      r.package_name,
      undefined,
      undefined,
      undefined
    ).toString(),
    description: `Approved by RepoGuard (request ${r.request_id}) at commit ${item.commitSha ?? ''}`
  });
  root.properties.add(new Models.Property('repoguard:commit', item.commitSha ?? ''));
  root.properties.add(new Models.Property('repoguard:request-id', r.request_id));
  if (item.privateRepoUrl) {
    root.externalReferences.add(
      new Models.ExternalReference(item.privateRepoUrl, Enums.ExternalReferenceType.VCS, {
        comment: `private mirror, commit ${item.commitSha ?? ''}`
      })
    );
  }
  root.externalReferences.add(
    new Models.ExternalReference(r.repo_url, Enums.ExternalReferenceType.VCS, {
      comment: `public origin, ref ${r.ref || '(default branch)'}`
    })
  );
  bom.metadata.component = root;
  for (const dep of item.dependencies ?? []) {
    const component = new Models.Component(Enums.ComponentType.Library, dep.name, {
      bomRef: `dep:${dep.name}`,
      purl: new PackageURL(
        ecosystem,
        undefined,
        dep.name,
        undefined,
        undefined,
        undefined
      ).toString()
    });
    if (dep.spec) {
      component.properties.add(new Models.Property('repoguard:declared-specifier', dep.spec));
    }
    bom.components.add(component);
    root.dependencies.add(component.bomRef);
  }
  const serializer = new Serialize.JsonSerializer(
    new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6)
  );
  return serializer.serialize(bom, { sortLists: true, space: 2 });
}
