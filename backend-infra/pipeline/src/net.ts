/**
 * SSRF guard: a `https://` source host must resolve, and only to public
 * unicast addresses. Private, loopback, link-local (incl. 169.254.169.254 and
 * the CodeBuild credentials address 169.254.170.2), CGNAT, multicast and
 * reserved ranges are refused. The clone is then pinned to the checked
 * addresses (`http.curloptResolve`) so that DNS cannot answer differently
 * the second time (rebinding).
 */
import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';

export type Resolver = (host: string) => Promise<string[]>;

export const systemResolver: Resolver = async host => {
  const answers = await lookup(host, { all: true, verbatim: true });
  return answers.map(a => a.address);
};

/** The range name of an address when it is not a public unicast one, else null. */
export function nonPublicRange(address: string): string | null {
  if (!ipaddr.isValid(address)) {
    return 'invalid';
  }
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  const range = parsed.range();
  return range === 'unicast' ? null : range;
}

export interface IHostCheck {
  ok: boolean;
  addresses: string[];
  /** Why the host is refused (names the address and its range). */
  reason?: string;
}

/** Resolve `host` and check every address it resolves to. */
export async function checkHost(
  host: string,
  resolve: Resolver = systemResolver
): Promise<IHostCheck> {
  let addresses: string[];
  try {
    addresses = ipaddr.isValid(host) ? [host] : await resolve(host);
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'lookup failed';
    return { ok: false, addresses: [], reason: `host ${host} does not resolve (${code})` };
  }
  if (addresses.length === 0) {
    return { ok: false, addresses, reason: `host ${host} does not resolve` };
  }
  for (const address of addresses) {
    const range = nonPublicRange(address);
    if (range) {
      return {
        ok: false,
        addresses,
        reason: `host ${host} resolves to ${address}, a ${range} address (not a public host)`
      };
    }
  }
  return { ok: true, addresses };
}
