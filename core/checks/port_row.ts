/**
 * One published-port row as an expectation, in either family: the IPv4 rows (implied_ports.ts)
 * and their IPv6 twins (ports6.ts) are the same probe of a host address, told apart by `/ipv6` in
 * the id and a bracketed address in the target. Pure.
 *
 * @module
 */

import type { Container, PublishedPort } from "../model/types.ts";
import { IPV6_TAG } from "./families.ts";
import type { Expectation, Expected } from "./types.ts";

/** One row of a port: who probes which address, and what it must see. */
export interface PortRow {
  id: string;
  source: string;
  netns: string;
  address: string;
  expect: Expected;
  description: string;
}

/** What answers a port of `c` that is reached: nslab's responder names `c`, else any open port. */
export function answeredPort(c: Container, responder: boolean): Expected {
  return responder ? { kind: "answeredBy", container: c.name } : { kind: "open" };
}

/** The expectation of one row of port `p` of `c`, on `row.address` of the given family. */
export function portExpectation(
  c: Container,
  p: PublishedPort,
  responder: boolean,
  row: PortRow,
  family: "ipv4" | "ipv6" = "ipv4",
): Expectation {
  const v6 = family === "ipv6";
  const spec = `${p.hostPort}/${p.protocol}`;
  const at = v6 ? `[${row.address}]` : row.address;
  return {
    id: `port:${row.id}${v6 ? IPV6_TAG : ""}:${spec}`,
    kind: "port",
    source: row.source,
    target: `${at}:${spec} → ${c.name}:${p.containerPort}`,
    protocol: p.protocol as "tcp" | "udp",
    probe: p.protocol === "tcp"
      ? { kind: "tcp", netns: row.netns, address: row.address, port: p.hostPort, responder }
      : { kind: "udp", netns: row.netns, address: row.address, port: p.hostPort },
    expect: row.expect,
    description: row.description,
    containers: [c.name],
    explicit: false,
  };
}
