/**
 * The one applier, section by section, without root: plans are applied to a RecordingKernel and
 * the recorded netlink messages and actions are read back.
 */
import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { loadTopologyObject } from "../model/load.ts";
import type { Model } from "../model/types.ts";
import type { Plan } from "../plan/types.ts";
import { buildPlan } from "../plan/plan.ts";
import { diffPlans, emptyPlan, type PlanDelta } from "../plan/diff.ts";
import { connectNetwork } from "../model/network_ops.ts";
import { applyDelta, type Section, SECTION_GROUPS } from "./apply.ts";
import { type KnownLink, RecordingKernel } from "./target.ts";
import { readJournal } from "./journal.ts";
import { ApplyError, NslabError } from "../errors.ts";
import { RTM_NEWADDR, RTM_NEWLINK, RTM_NEWNEIGH, RTM_NEWROUTE } from "./netlink/constants.ts";
import { decodeMessages } from "./netlink/codec.ts";
import { reloadRuleset } from "../plan/firewall/reload.ts";

function lab(uplink = false): Model {
  return loadTopologyObject({
    name: "aptest",
    hosts: { h1: {}, h2: {} },
    networks: { front: {}, mesh: { driver: "overlay" } },
    containers: {
      web: { host: "h1", networks: ["front"], ports: ["8080:80"] },
      p1: { host: "h1", networks: ["mesh"] },
      p2: { host: "h2", networks: ["mesh"] },
    },
  }, { reserved: [], uplink }).model;
}

const up = (plan: Plan): PlanDelta => diffPlans(emptyPlan(plan.lab), plan);

/** The recorded netlink messages as `ns type target` lines, decoded from their bytes. */
function lines(k: RecordingKernel, type?: number): string[] {
  return k.messages
    .filter((m) => type === undefined || decodeMessages(m.bytes)[0].header.type === type)
    .map((m) => `${m.ns} ${m.info.op} ${m.info.object} ${m.info.target}`);
}

/** The links of a running lab built from `plan`, as a RecordingKernel reads them back. */
function existingOf(plan: Plan): Record<string, KnownLink[]> {
  const out: Record<string, KnownLink[]> = {};
  const add = (ns: string, name: string, kind: string) => {
    const list = out[ns] ??= [{ name: "lo", index: 1, kind: "", mac: "" }];
    list.push({
      name,
      index: list.length + 1,
      kind,
      mac: `02:00:00:00:00:${(list.length + 1).toString(16).padStart(2, "0")}`,
    });
  };
  for (const n of plan.namespaces) {
    for (const l of n.links) {
      add(l.kind === "macvlan" ? l.targetNs : n.name, l.name, l.kind);
      if (l.kind === "veth") add(l.peer.ns, l.peer.name, "veth");
    }
  }
  return out;
}

async function record(delta: PlanDelta, existing: Record<string, KnownLink[]> = {}) {
  const k = new RecordingKernel(existing);
  const sections: Section[] = [];
  const report = await applyDelta(delta, k, { onSection: (s) => sections.push(s) });
  return { k, report, sections };
}

Deno.test("every section runs, in the documented order", async () => {
  const plan = buildPlan(lab());
  const { sections } = await record(up(plan));
  assertEquals(sections, SECTION_GROUPS.flat());
});

Deno.test("namespaces: created, tagged with the lab, journaled before creation", async () => {
  const plan = buildPlan(lab());
  const journal = await Deno.makeTempFile();
  try {
    const k = new RecordingKernel();
    const report = await applyDelta(up(plan), k, { journal });
    const names = plan.namespaces.map((n) => n.name);
    assertEquals(
      k.actions.filter((a) => a.startsWith("netns")),
      names.map((n) => `netns add ${n}`),
    );
    assertEquals(report.namespaces, names);
    const tags = k.messages.filter((m) => new TextDecoder().decode(m.bytes).includes("nslab:"));
    assertEquals(tags.map((m) => m.ns), names);
    for (const t of tags) assertEquals(t.info.target, '"ifindex 1"');
    const entries = readJournal(journal);
    assertEquals(
      entries.filter((e) => e.t === "netns").map((e) => e.t === "netns" && e.name),
      names,
    );
    assert(entries.some((e) => e.t === "fdb"), "fdb entries are journaled");
  } finally {
    Deno.removeSync(journal);
  }
});

Deno.test("sysctls and /etc/netns files: one action each", async () => {
  const plan = buildPlan(lab());
  const { k } = await record(up(plan));
  const h1 = plan.namespaces.find((n) => n.name === "aptest-h1")!;
  for (const [key, value] of Object.entries(h1.sysctls)) {
    assert(k.actions.includes(`sysctl aptest-h1 ${key.replaceAll("/", ".")}=${value}`), key);
  }
  assert(k.actions.includes("write /etc/netns/aptest-web/resolv.conf"));
  assert(k.actions.includes("write /etc/netns/aptest-web/hosts"));
});

Deno.test("links: every planned link is added once, with nslab-chosen indexes per namespace", async () => {
  const plan = buildPlan(lab());
  const { k } = await record(up(plan));
  const added = lines(k, RTM_NEWLINK).filter((l) => l.includes(" add link "));
  const planned = plan.namespaces.flatMap((n) =>
    n.links.map((l) => `${n.name} add link "${l.name}"`)
  );
  assertEquals(added, planned);
  const h1 = k.messages.filter((m) =>
    m.ns === "aptest-h1" && m.info.op === "add" && m.info.object === "link"
  );
  const indexes = h1.map((m) => {
    const body = decodeMessages(m.bytes)[0].body;
    return body.kind === "link" ? body.msg.index : -1;
  });
  assert(indexes.length > 1);
  assertEquals(indexes, indexes.map((_, i) => indexes[0] + i), "consecutive, chosen by nslab");
  assert(indexes[0] >= 2, "after lo");
  // a veth's peer is created in its own namespace by the same request
  const web = plan.namespaces.find((n) => n.name === "aptest-web")!;
  assert(web.links.length === 0, "the container's eth0 is the peer of a host veth");
  assert(web.up.includes("eth0"));
});

Deno.test("bridge ports, up, addresses, routes, neighbours, fdb: one request per planned object", async () => {
  const plan = buildPlan(lab());
  const { k } = await record(up(plan));
  const count = (f: (n: Plan["namespaces"][number]) => unknown[]) =>
    plan.namespaces.reduce((s, n) => s + f(n).length, 0);
  assertEquals(lines(k, RTM_NEWADDR).length, count((n) => n.addrs));
  assertEquals(lines(k, RTM_NEWROUTE).length, count((n) => n.routes));
  assertEquals(lines(k, RTM_NEWNEIGH).length, count((n) => [...n.neighs, ...n.fdb]));
  assert(count((n) => n.fdb) > 0 && count((n) => n.neighs) > 0, "the overlay has both");
  const ups = k.messages.filter((m) => m.info.op === "set" && m.info.object === "link");
  const masters = plan.namespaces.flatMap((n) => n.links).filter((l) =>
    l.kind === "veth" && l.peer.master
  );
  assert(ups.length >= count((n) => n.up) + masters.length + plan.namespaces.length);
  const hairpins = plan.namespaces.flatMap((n) => n.links).filter((l) =>
    l.kind === "veth" && l.hairpin
  );
  assertEquals(lines(k).filter((l) => l.includes("bridge port")).length, hairpins.length);
});

Deno.test("root links and root config: the uplink is made from the underlay, tagged, addressed", async () => {
  const plan = buildPlan(lab(true));
  assert(plan.root.links.length === 1);
  const { k, report } = await record(up(plan));
  const uplink = plan.root.links[0];
  assert(uplink.kind === "veth");
  assert(lines(k).includes(`${uplink.peer.ns} add link "${uplink.peer.name}"`));
  assert(lines(k).includes(` set link "${uplink.name}"`), "tagged in the root namespace");
  assertEquals(
    lines(k, RTM_NEWADDR).filter((l) => l.startsWith(" ")).length,
    plan.root.addrs.length,
  );
  assertEquals(report.rootLinks, [uplink.name]);
});

Deno.test("removals and bridge MACs: a network change removes what goes and keeps bridge MACs", async () => {
  const m = lab();
  const before = buildPlan(connectNetwork(m, "front", "p1"));
  const after = buildPlan(m);
  const delta = diffPlans(before, after);
  const h1 = before.namespaces.find((n) => n.name === "aptest-h1")!;
  const existing: Record<string, KnownLink[]> = {
    "aptest-h1": [
      { name: "lo", index: 1, kind: "", mac: "" },
      ...h1.links.map((l, i) => ({
        name: l.name,
        index: i + 2,
        kind: l.kind,
        mac: "02:00:00:00:00:0" + i,
      })),
    ],
  };
  const { k } = await record(delta, existing);
  const gone = delta.namespaces.flatMap((n) =>
    n.removeLinks.map((l) => `${n.name} delete link "${l.name}"`)
  );
  assert(gone.length > 0);
  assertEquals(lines(k).filter((l) => l.includes("delete link")), gone);
  const bridges = h1.links.filter((l) => l.kind === "bridge").length;
  const macs = k.messages.filter((m) => m.ns === "aptest-h1" && m.info.op === "set");
  assertEquals(macs.length, 2 * bridges, "each bridge's MAC is set before and after");
  assertEquals(k.actions.filter((a) => a.startsWith("netns")), [], "no namespace is created");
});

Deno.test("firewall: a new host's rules are loaded as they are, a changed host's reloaded", async () => {
  const m = lab();
  const size = (rules: string) => rules.split("\n").length;
  const plan = buildPlan(m);
  const { k } = await record(up(plan));
  assertEquals(
    k.actions.filter((a) => a.startsWith("iptables-restore")),
    plan.firewall.map((f) => `iptables-restore ${f.netns} (${size(f.rules)} lines)`),
  );
  const next = buildPlan(connectNetwork(m, "front", "p2"));
  const change = diffPlans(plan, next);
  assertEquals(change.firewall.map((f) => [f.netns, f.reload]), [["aptest-h2", true]]);
  const { k: k2 } = await record(change);
  const h2 = next.firewall.find((f) => f.netns === "aptest-h2")!;
  assertEquals(k2.actions.filter((a) => a.startsWith("iptables-restore")), [
    `iptables-restore aptest-h2 (${size(reloadRuleset(h2.rules))} lines)`,
  ]);
  assert(size(reloadRuleset(h2.rules)) > size(h2.rules), "the reload flushes built-in chains");
});

Deno.test("xfrm: any entry is refused with the kernel-feature message, before any firewall", async () => {
  const plan = buildPlan(lab());
  plan.xfrm.push({
    netns: "aptest-h1",
    network: "mesh",
    src: "10.0.0.1",
    dst: "10.0.0.2",
    spi: 256,
    proto: "esp",
    mode: "transport",
    aead: "rfc4106(gcm(aes))",
    port: 4789,
  });
  const k = new RecordingKernel();
  await rejects(applyDelta(up(plan), k), (e: unknown) => {
    assert(e instanceof ApplyError && e.cause instanceof NslabError);
    assert(/Cannot encrypt overlay network "mesh"/.test(e.message), e.message);
    return true;
  });
  assertEquals(k.actions.filter((a) => a.startsWith("iptables")), []);
  const deleted = k.actions.filter((a) => a.startsWith("netns delete"));
  const names = plan.namespaces.map((n) => n.name);
  assertEquals(
    deleted,
    names.reverse().map((n) => `netns delete ${n}`),
    "rolled back, newest first",
  );
});

Deno.test("a failure in a network change is thrown as it is, or collected when tolerant", async () => {
  const m = lab();
  const delta = diffPlans(buildPlan(m), buildPlan(connectNetwork(m, "front", "p1")));
  const failing = new (class extends RecordingKernel {
    constructor() {
      super(existingOf(buildPlan(m)));
    }
    override setSysctl(): void {
      throw new Error("sysctl refused");
    }
  })();
  delta.namespaces[0].sysctls = { "net/ipv4/ip_forward": "1" };
  await rejects(applyDelta(delta, failing), (e: unknown) => {
    assert(!(e instanceof ApplyError) && (e as Error).message === "sysctl refused");
    return true;
  });
  const report = await applyDelta(delta, failing, { tolerant: true });
  assertEquals(report.tolerated.map((e) => e.message), ["sysctl refused"]);
});

Deno.test("root links removed, namespaces removed (down): the difference to an empty plan deletes only them", async () => {
  const plan = buildPlan(lab(true));
  const delta = diffPlans(plan, emptyPlan(plan.lab));
  const names = plan.namespaces.map((n) => n.name);
  assertEquals(delta.remove.namespaces, [...names].reverse(), "newest first");
  assertEquals(delta.remove.rootLinks, [plan.root.links[0].name]);
  assertEquals(diffPlans(emptyPlan(plan.lab), plan).remove, { namespaces: [], rootLinks: [] });
  const { k, report } = await record(delta, existingOf(plan));
  assertEquals(k.messages.length, 0, "nothing inside a namespace is removed one by one");
  assertEquals(
    k.actions,
    [
      `link delete ${plan.root.links[0].name}`,
      ...[...names].reverse().map((n) => `netns delete ${n}`),
    ],
  );
  assertEquals(report.removed, {
    namespaces: [...names].reverse(),
    rootLinks: [plan.root.links[0].name],
  });
  // Where the journal and the tag show fewer namespaces are the lab's, only those go.
  const only = new Set([names[0]]);
  const k2 = new RecordingKernel(existingOf(plan));
  const r2 = await applyDelta(delta, k2, { onlyNamespaces: only });
  assertEquals(r2.removed.namespaces, [names[0]]);
  assertEquals(k2.actions.filter((a) => a.startsWith("netns delete")), [
    `netns delete ${names[0]}`,
  ]);
});
