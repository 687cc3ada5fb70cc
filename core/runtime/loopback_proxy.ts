/**
 * The IPv6 loopback proxy: what carries a port published on `[::1]`. The kernel cannot DNAT
 * IPv6 traffic from `::1` out to a bridge (IPv6 has no `route_localnet`), so Docker serves such
 * ports with its userland proxy (docker-proxy) only; nslab does the same for them alone: a TCP
 * listener on `[::1]:PORT` in the host namespace, each connection spliced to the container's
 * address and port, connected from the host namespace too.
 *
 * @module
 */

import type { Model } from "../model/types.ts";
import { IPV6_LOOPBACK } from "../model/ports.ts";
import { ipv6DefaultEndpoint } from "../model/ipv6_only.ts";
import { withNetns } from "../kernel/netns/netns.ts";

/** Where one proxied port goes. */
export interface LoopbackTarget {
  /** Host namespace the listener lives in. */
  netns: string;
  /** Host port on `::1`. */
  port: number;
  /** The container's address (its IPv6 one when it has one) and port. */
  address: string;
  targetPort: number;
  /** The container's name, for messages. */
  container: string;
}

/** A running proxy; {@link close} stops it and its connections. */
export class LoopbackProxy {
  readonly #listener: Deno.Listener;
  readonly #conns = new Set<Deno.Conn>();
  #closed = false;

  private constructor(readonly target: LoopbackTarget, listener: Deno.Listener) {
    this.#listener = listener;
    this.#serve();
  }

  /**
   * Listens on `[::1]:port` inside the host namespace. Throws when the port is taken there.
   * Equivalent to: `ip netns exec HOST docker-proxy -proto tcp -host-ip ::1 -host-port PORT
   * -container-ip ADDRESS -container-port TARGETPORT`.
   */
  static start(target: LoopbackTarget): LoopbackProxy {
    const listener = withNetns(
      target.netns,
      () => Deno.listen({ hostname: "::1", port: target.port, transport: "tcp" }),
    );
    return new LoopbackProxy(target, listener);
  }

  async #serve(): Promise<void> {
    for (;;) {
      let client: Deno.Conn;
      try {
        client = await this.#listener.accept();
      } catch {
        return; // closed
      }
      this.#carry(client).catch(() => {});
    }
  }

  /** Connects to the container from the host namespace and copies both ways until both end. */
  async #carry(client: Deno.Conn): Promise<void> {
    this.#conns.add(client);
    let upstream: Deno.Conn | null = null;
    try {
      const { netns, address, targetPort } = this.target;
      // The socket is made inside the host namespace while withNetns holds it there.
      upstream = await withNetns(
        netns,
        () => Deno.connect({ hostname: address, port: targetPort }),
      );
      this.#conns.add(upstream);
      const up = upstream;
      await Promise.all([
        client.readable.pipeTo(up.writable, { preventClose: true }).then(() => up.closeWrite()),
        up.readable.pipeTo(client.writable, { preventClose: true }).then(() => client.closeWrite()),
      ]);
    } catch {
      // A reset or refused connection ends this one only, as docker-proxy does.
    } finally {
      for (const c of [client, upstream]) {
        if (!c) continue;
        this.#conns.delete(c);
        try {
          c.close();
        } catch { /* already closed */ }
      }
    }
  }

  /** Stops listening and closes every connection. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
    this.#conns.clear();
  }
}

/**
 * The ports of `containers` published on `[::1]`, each with where it goes: the container's
 * default endpoint, its IPv6 address when it has one (as Docker's proxy prefers the family of the
 * host address), else its IPv4 one. Pure.
 */
export function loopbackTargets(model: Model, containers: ReadonlySet<string>): LoopbackTarget[] {
  const netnsOf = new Map(model.hosts.map((h) => [h.name, h.netns]));
  return model.containers.flatMap((c) => {
    const ep = ipv6DefaultEndpoint(c);
    if (!containers.has(c.name) || c.mode.kind !== "own" || ep === undefined) return [];
    const address = ep.ipv6?.address ?? ep.address!;
    return c.ports.filter((p) => p.hostIp === IPV6_LOOPBACK && p.protocol === "tcp").map((p) => ({
      netns: netnsOf.get(c.host)!,
      port: p.hostPort,
      address,
      targetPort: p.containerPort,
      container: c.name,
    }));
  });
}
