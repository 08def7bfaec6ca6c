/**
 * The original sample's request file named GitHub archive downloads, e.g.
 * `https://github.com/OWNER/REPO/archive/refs/heads/main.zip`. RepoGuard clones
 * instead, so such a URL maps to its repository and ref.
 */
import contract from './contract.json';

export interface ILegacySource {
  repoUrl: string;
  /** Branch, tag or commit; `''` means the default branch. */
  ref: string;
}

const ARCHIVE = new RegExp(contract.legacyUrls.archive, 'i');
const CODELOAD = new RegExp(contract.legacyUrls.codeload, 'i');

/** Map a legacy URL to a repository and ref; other URLs pass through. */
export function fromLegacyUrl(url: string): ILegacySource {
  const match = ARCHIVE.exec(url) ?? CODELOAD.exec(url);
  if (!match) {
    return { repoUrl: url, ref: '' };
  }
  const [, owner, repo, ref] = match;
  return { repoUrl: `https://github.com/${owner}/${repo}`, ref };
}
