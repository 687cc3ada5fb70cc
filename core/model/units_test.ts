import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { type Cidr, formatCidr, overlaps, parseCidr, parseIp } from "./ip.ts";

function cidr(text: string): Cidr {
  const r = parseCidr(text);
  if (!r.ok) throw new Error(text);
  return r.cidr;
}
import { didYouMean, ifnameFor, normalizeLabName } from "./names.ts";
import { parseExpose, parsePort } from "./ports.ts";
import { splitWords } from "./shellwords.ts";
import { DEFAULT_SUBNET, firstFreePool, globalPools, localPools } from "./ipam.ts";

Deno.test("parses IPv4 addresses and refuses malformed ones", () => {
  equal(parseIp("10.0.0.1"), 167772161);
  equal(parseIp("255.255.255.255"), 0xffffffff);
  for (const bad of ["10.0.0", "10.0.0.256", "01.0.0.1", "a.b.c.d", "10.0.0.1.2", ""]) {
    equal(parseIp(bad), null, bad);
  }
});

Deno.test("parses prefixes, says why a prefix is not one", () => {
  deepStrictEqual(parseCidr("172.20.0.0/24"), { ok: true, cidr: { base: 0xac140000, prefix: 24 } });
  deepStrictEqual(parseCidr("172.20.0.1/24"), {
    ok: false,
    reason: "hostbits",
    normalized: "172.20.0.0/24",
  });
  deepStrictEqual(parseCidr("fd00::/64"), { ok: false, reason: "ipv6" });
  deepStrictEqual(parseCidr("172.20.0.0/33"), { ok: false, reason: "syntax" });
  ok(overlaps(cidr("10.0.0.0/8"), cidr("10.77.0.0/24")));
  ok(!overlaps(cidr("172.17.0.0/16"), cidr("172.18.0.0/16")));
  equal(formatCidr(DEFAULT_SUBNET), "172.17.0.0/16");
});

Deno.test("Docker's local pools come in Docker's order, 31 in all", () => {
  const pools = [...localPools()].map(formatCidr);
  deepStrictEqual(pools.slice(0, 4), [
    "172.18.0.0/16",
    "172.19.0.0/16",
    "172.20.0.0/16",
    "172.21.0.0/16",
  ]);
  equal(pools[13], "172.31.0.0/16");
  equal(pools[14], "192.168.0.0/20");
  equal(pools.length, 30); // + docker0's 172.17.0.0/16 = Docker's 31
  equal(formatCidr([...globalPools()][1]), "10.0.1.0/24");
});

Deno.test("the first free pool skips every pool that overlaps a reserved prefix", () => {
  const avoid = ["172.18.5.0/24", "172.19.0.0/16"].map((t) => cidr(t));
  equal(formatCidr(firstFreePool(localPools(), avoid)!), "172.20.0.0/16");
});

Deno.test("kernel names fit 15 bytes, hashed when the name is too long", () => {
  equal(ifnameFor("br-", "front"), "br-front");
  const long = ifnameFor("br-", "a-very-long-network");
  equal(long.length, 15);
  ok(/^br-[0-9a-f]{12}$/.test(long));
  equal(ifnameFor("br-", "a-very-long-network"), long);
  ok(ifnameFor("br-", "a-very-long-networl") !== long);
});

Deno.test("lab names are normalised like Compose project names", () => {
  equal(normalizeLabName("My Shop.v2"), "myshopv2");
  equal(normalizeLabName("__x-Y"), "x-y");
});

Deno.test("did-you-mean finds typos and transpositions, not far-fetched names", () => {
  equal(didYouMean("netwroks", ["networks", "ports"]), "networks");
  equal(didYouMean("fornt", ["front", "back"]), "front");
  equal(didYouMean("zzz", ["networks", "ports"]), null);
});

Deno.test("short port syntax expands like Compose", () => {
  deepStrictEqual(parsePort("8080:80"), [{
    hostIp: "0.0.0.0",
    anyHost: true, // no address given: a network's host_binding_ipv4 may apply
    containerPort: 80,
    protocol: "tcp",
    name: null,
    host: { kind: "fixed", port: 8080 },
  }]);
  deepStrictEqual(
    (parsePort("127.0.0.1:8080-8081:80-81/udp") as {
      hostIp: string;
      containerPort: number;
      protocol: string;
      host: { port: number };
    }[])
      .map((r) => [r.hostIp, r.host.port, r.containerPort, r.protocol]),
    [["127.0.0.1", 8080, 80, "udp"], ["127.0.0.1", 8081, 81, "udp"]],
  );
  deepStrictEqual((parsePort(80) as { host: unknown }[])[0].host, {
    kind: "range",
    first: 49153,
    last: 65535,
    ephemeral: true,
  });
  deepStrictEqual((parsePort("127.0.0.1::53/sctp") as { host: unknown; protocol: string }[])[0], {
    hostIp: "127.0.0.1",
    containerPort: 53,
    protocol: "sctp",
    name: null,
    host: { kind: "range", first: 49153, last: 65535, ephemeral: true },
  });
  deepStrictEqual((parsePort("8000-8009:80") as { host: unknown }[])[0].host, {
    kind: "range",
    first: 8000,
    last: 8009,
    ephemeral: false,
  });
  equal((parsePort("3000-3005") as unknown[]).length, 6);
  // ":80:80" (an empty host address) binds every address, as Compose reads it
  deepStrictEqual(
    (parsePort(":8080:80") as { hostIp: string; anyHost?: true }[])[0].hostIp,
    "0.0.0.0",
  );
  equal((parsePort("127.0.0.1:8080:80") as { anyHost?: true }[])[0].anyHost, undefined);
});

Deno.test("long port syntax keeps the name for SRV records", () => {
  deepStrictEqual(parsePort({ target: 80, published: "8080", protocol: "udp", name: "web" }), [{
    hostIp: "0.0.0.0",
    anyHost: true,
    containerPort: 80,
    protocol: "udp",
    name: "web",
    host: { kind: "fixed", port: 8080 },
  }]);
  deepStrictEqual(parsePort({ published: 80 }), {
    error: "long-form port without target",
    hint: "add target: <container port>",
  });
});

Deno.test("IPv6 host addresses: in brackets or bare, kept in canonical text", () => {
  const hostIps = (s: string | Record<string, unknown>) =>
    (parsePort(s as string) as { hostIp: string }[]).map((p) => p.hostIp);
  deepStrictEqual(hostIps("[::]:8080:80"), ["::"]);
  deepStrictEqual(hostIps("[FD00:0::1]:8080-8081:80-81/udp"), ["fd00::1", "fd00::1"]);
  deepStrictEqual(hostIps("fd00::5:80:80"), ["fd00::5"]);
  deepStrictEqual(hostIps({ target: 80, published: 9000, host_ip: "::" }), ["::"]);
});

Deno.test("bad port entries say what is wrong", () => {
  const err = (s: string) => (parsePort(s) as { error: string }).error;
  equal(err("80:abc"), 'invalid container port "abc": not a port number or range');
  equal(err("81-80:80-81"), 'invalid host port "81-80": the range ends before it starts');
  equal(err("80/icmp"), "invalid proto: icmp");
  equal(
    err("[::1]:53:53/udp"),
    'host_ip "[::1]" with udp: nslab\'s IPv6 loopback proxy carries TCP only',
  );
  equal((parsePort("[::1]:80:80") as { hostIp: string }[])[0].hostIp, "::1");
  equal(err("[zz]:80:80"), 'invalid host_ip "[zz]": not an IPv6 address');
  equal(err("[fd00::1:80:80"), 'invalid port "[fd00::1:80:80": bad IPv6 host_ip');
  equal(err("1.2.3:80:80"), 'invalid host_ip "1.2.3": not an IPv4 address');
});

Deno.test("expose entries take ports, protocols and ranges", () => {
  deepStrictEqual(parseExpose("53/udp"), [{ port: 53, protocol: "udp" }]);
  deepStrictEqual(parseExpose(8000), [{ port: 8000, protocol: "tcp" }]);
  equal((parseExpose("9000-9002") as unknown[]).length, 3);
  equal(
    (parseExpose("x") as { error: string }).error,
    'invalid exposed port "x": not a port number or range',
  );
});

Deno.test("commands split like a shell would, without expansion", () => {
  deepStrictEqual(splitWords(`python3 -c 'print("hi")'`), ["python3", "-c", 'print("hi")']);
  deepStrictEqual(splitWords(`echo "a \\"b\\" $HOME" c\\ d ''`), [
    "echo",
    'a "b" $HOME',
    "c d",
    "",
  ]);
  deepStrictEqual(splitWords("  a\tb\n"), ["a", "b"]);
  deepStrictEqual(splitWords(`echo "open`), { error: 'the command has an unterminated " quote' });
  deepStrictEqual(splitWords(`echo \\`), { error: "the command ends with a lone backslash" });
});
