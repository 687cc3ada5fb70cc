/**
 * Invalid topologies, each with the exact diagnostics (line:col: message) nslab must report.
 * Shared by the validation tests; one test per case.
 *
 * @module
 */

/** One invalid file and what it must produce. */
export interface InvalidCase {
  name: string;
  yaml: string;
  /** `line:col: message` of every error, in order. */
  errors: string[];
}

/** The cases. */
export const INVALID: InvalidCase[] = [
  {
    name: "YAML syntax error is located",
    yaml: "name: t\ncontainers:\n  web: {networks: [a\n",
    errors: [
      "4:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]",
    ],
  },
  {
    name: "duplicate key",
    yaml: "name: t\ncontainers:\n  web: {}\n  web: {}\n",
    errors: ["4:3: duplicate key: this key is already set earlier in the same map"],
  },
  {
    name: "top level is a list",
    yaml: "- web\n- api\n",
    errors: ["1:1: the topology must be a map of keys, not a list"],
  },
  {
    name: "empty file",
    yaml: "",
    errors: ["1:1: the topology is empty"],
  },
  {
    name: "unknown top-level key suggests the right one",
    yaml: "name: t\nnetwroks: {}\n",
    errors: ['2:1: unknown key "netwroks" in the topology (did you mean "networks"?)'],
  },
  {
    name: "unknown container key suggests the right one",
    yaml: 'name: t\ncontainers:\n  web:\n    prots: ["80"]\n',
    errors: ['4:5: unknown key "prots" in containers.web (did you mean "ports"?)'],
  },
  {
    name: "ports given as a string",
    yaml: 'name: t\ncontainers:\n  web:\n    ports: "8080:80"\n',
    errors: ['4:12: containers.web.ports must be a list, not a string "8080:80"'],
  },
  {
    name: "internal given as a string",
    yaml: 'name: t\nnetworks:\n  back: {internal: "yes"}\ncontainers:\n  web: {networks: [back]}\n',
    errors: ['3:20: networks.back.internal must be true or false, not a string "yes"'],
  },
  {
    name: "negative replicas",
    yaml: "name: t\ncontainers:\n  api:\n    deploy: {replicas: -1}\n",
    errors: ["4:24: containers.api.deploy.replicas must be between 0 and 10000, not -1"],
  },
  {
    name: "fractional replicas",
    yaml: "name: t\ncontainers:\n  api:\n    deploy: {replicas: 1.5}\n",
    errors: ["4:24: containers.api.deploy.replicas must be an integer, not 1.5"],
  },
  {
    name: "absurd replicas (an out-of-memory crash before the cap)",
    yaml: "name: t\ncontainers:\n  api:\n    deploy: {replicas: 99999999999}\n",
    errors: ["4:24: containers.api.deploy.replicas must be between 0 and 10000, not 99999999999"],
  },
  {
    name: "undefined network with did-you-mean",
    yaml: "name: t\nnetworks:\n  front: {}\ncontainers:\n  web:\n    networks: [fornt]\n",
    errors: ['6:16: service "web" refers to undefined network fornt (did you mean "front"?)'],
  },
  {
    name: "undefined host with did-you-mean",
    yaml: "name: t\nhosts:\n  h1: {}\n  h2: {}\ncontainers:\n  web: {host: h3}\n",
    errors: ['6:15: host "h3" is not defined (did you mean "h1"?)'],
  },
  {
    name: "network_mode container of an undefined container",
    yaml: 'name: t\ncontainers:\n  web: {}\n  side: {network_mode: "container:wbe"}\n',
    errors: [
      '4:24: network_mode refers to container "wbe", which is not defined (did you mean "web"?)',
    ],
  },
  {
    name: "network_mode together with networks",
    yaml:
      "name: t\nnetworks:\n  front: {}\ncontainers:\n  web:\n    network_mode: host\n    networks: [front]\n",
    errors: ['6:19: service "web" declares mutually exclusive `network_mode` and `networks`'],
  },
  {
    name: "check from an unknown container",
    yaml: 'name: t\ncontainers:\n  web: {}\nchecks:\n  - {from: wbe, to: "web:80", expect: open}\n',
    errors: ['5:12: check source "wbe" is not a container, host or outside (did you mean "web"?)'],
  },
  {
    name: "check to an unknown target",
    yaml:
      'name: t\ncontainers:\n  web: {}\nchecks:\n  - {from: web, to: "apii:80", expect: open}\n',
    errors: ['5:21: check target "apii" is not a container, service, host or alias of this lab'],
  },
  {
    name: "overlapping bridge subnets on one host",
    yaml:
      "name: t\nnetworks:\n  a:\n    ipam: {config: [{subnet: 172.20.0.0/16}]}\n  b:\n    ipam: {config: [{subnet: 172.20.1.0/24}]}\ncontainers:\n  x: {networks: [a]}\n  y: {networks: [b]}\n",
    errors: [
      '6:20: subnet 172.20.1.0/24 of network "b" overlaps 172.20.0.0/16 of network "a" on host "host"',
    ],
  },
  {
    name: "overlay overlapping a bridge on another host",
    yaml:
      "name: t\nhosts: {h1: {}, h2: {}}\nnetworks:\n  a:\n    ipam: {config: [{subnet: 10.0.0.0/16}]}\n  m:\n    driver: overlay\n    ipam: {config: [{subnet: 10.0.1.0/24}]}\ncontainers:\n  x: {host: h1, networks: [a]}\n  y: {host: h2, networks: [m]}\n  z: {host: h1, networks: [m]}\n",
    errors: [
      '8:20: subnet 10.0.1.0/24 of network "m" overlaps 10.0.0.0/16 of network "a" (overlay networks span every host)',
    ],
  },
  {
    name: "bridge subnet overlapping the underlay",
    yaml:
      "name: t\nunderlay: {subnet: 10.77.0.0/24}\nnetworks:\n  a:\n    ipam: {config: [{subnet: 10.77.0.0/16}]}\ncontainers:\n  x: {networks: [a]}\n",
    errors: [
      '5:20: subnet 10.77.0.0/16 of network "a" overlaps the underlay 10.77.0.0/24 (the hosts\' own segment)',
    ],
  },
  {
    name: "gateway outside the subnet",
    yaml:
      "name: t\nnetworks:\n  a:\n    ipam:\n      config:\n        - subnet: 172.20.0.0/24\n          gateway: 172.21.0.1\n",
    errors: ["7:20: gateway 172.21.0.1 is outside subnet 172.20.0.0/24"],
  },
  {
    name: "gateway equal to the network address",
    yaml:
      "name: t\nnetworks:\n  a:\n    ipam:\n      config:\n        - subnet: 172.20.0.0/24\n          gateway: 172.20.0.0\n",
    errors: ["7:20: gateway 172.20.0.0 is the network address of 172.20.0.0/24"],
  },
  {
    name: "gateway equal to the broadcast address",
    yaml:
      "name: t\nnetworks:\n  a:\n    ipam:\n      config:\n        - subnet: 172.20.0.0/24\n          gateway: 172.20.0.255\n",
    errors: ["7:20: gateway 172.20.0.255 is the broadcast address of 172.20.0.0/24"],
  },
  {
    name: "fixed address outside the subnet",
    yaml:
      "name: t\nnetworks:\n  a: {ipam: {config: [{subnet: 172.20.0.0/24}]}}\ncontainers:\n  web:\n    networks:\n      a: {ipv4_address: 172.21.0.5}\n",
    errors: [
      '7:25: ipv4_address 172.21.0.5 of "web", which is outside subnet 172.20.0.0/24 of network "a" (no configured subnet contains IP address 172.21.0.5)',
    ],
  },
  {
    name: "fixed address equal to the broadcast address",
    yaml:
      "name: t\nnetworks:\n  a: {ipam: {config: [{subnet: 172.20.0.0/24}]}}\ncontainers:\n  web:\n    networks:\n      a: {ipv4_address: 172.20.0.255}\n",
    errors: [
      '7:25: ipv4_address 172.20.0.255 of "web", which is the broadcast address of 172.20.0.0/24',
    ],
  },
  {
    name: "two containers with one address",
    yaml:
      "name: t\nnetworks:\n  a: {ipam: {config: [{subnet: 172.20.0.0/24}]}}\ncontainers:\n  web:\n    networks:\n      a: {ipv4_address: 172.20.0.5}\n  api:\n    networks:\n      a: {ipv4_address: 172.20.0.5}\n",
    errors: [
      '10:25: ipv4_address 172.20.0.5 of "api", which is already used by "web" on network "a" on host "host"',
    ],
  },
  {
    name: "fixed address inside the range a replicated service takes names the replica",
    yaml:
      "name: t\nnetworks:\n  a: {ipam: {config: [{subnet: 172.20.0.0/24}]}}\ncontainers:\n  api:\n    deploy: {replicas: 3}\n    networks:\n      a: {ipv4_address: 172.20.0.10}\n  web:\n    networks:\n      a: {ipv4_address: 172.20.0.11}\n",
    errors: [
      '11:25: ipv4_address 172.20.0.11 of "web", which is already used by api-2 (replica 2 of "api", whose 3 replicas take 172.20.0.10-172.20.0.12 from its ipv4_address) on network "a" on host "host"',
    ],
  },
  {
    name: "replica would take an address another container already has",
    yaml:
      "name: t\nnetworks:\n  a: {ipam: {config: [{subnet: 172.20.0.0/24}]}}\ncontainers:\n  web:\n    networks:\n      a: {ipv4_address: 172.20.0.12}\n  api:\n    deploy: {replicas: 3}\n    networks:\n      a: {ipv4_address: 172.20.0.10}\n",
    errors: [
      '11:25: replica api-3 of "api" would take 172.20.0.12 (ipv4_address 172.20.0.10 + 2), which is already used by "web" on network "a" on host "host"',
    ],
  },
  {
    name: "invalid port syntax",
    yaml: 'name: t\ncontainers:\n  web:\n    ports: ["80:abc"]\n',
    errors: ['4:13: invalid container port "abc": not a port number or range'],
  },
  {
    name: "port range length mismatch",
    yaml: 'name: t\ncontainers:\n  web:\n    ports: ["8080-8082:80-81"]\n',
    errors: [
      '4:13: invalid ranges specified for container and host Ports in "8080-8082:80-81" (3 host ports, 2 container ports)',
    ],
  },
  {
    name: "unknown protocol",
    yaml: 'name: t\ncontainers:\n  web:\n    ports: ["80/tcpp"]\n',
    errors: ["4:13: invalid proto: tcpp"],
  },
  {
    name: "port 0",
    yaml: 'name: t\ncontainers:\n  web:\n    ports: ["0:80"]\n',
    errors: ['4:13: invalid host port "0": port 0 is outside 1-65535'],
  },
  {
    name: "port 65536",
    yaml: 'name: t\ncontainers:\n  web:\n    ports: ["65536:80"]\n',
    errors: ['4:13: invalid host port "65536": port 65536 is outside 1-65535'],
  },
  {
    name: "the same host port published twice on one host",
    yaml:
      'name: t\ncontainers:\n  web:\n    ports: ["8080:80"]\n  api:\n    ports: ["8080:8000"]\n',
    errors: [
      '6:13: host port 0.0.0.0:8080/tcp of "api" is already published by "web" on host "host" (Bind for 0.0.0.0:8080 failed: port is already allocated)',
    ],
  },
  {
    name: "0.0.0.0 conflicts with a specific host_ip",
    yaml:
      'name: t\ncontainers:\n  web:\n    ports: ["127.0.0.1:8080:80"]\n  api:\n    ports: ["8080:8000"]\n',
    errors: [
      '6:13: host port 0.0.0.0:8080/tcp of "api" is already published by "web" on host "host" (Bind for 0.0.0.0:8080 failed: port is already allocated)',
    ],
  },
  {
    name: "replicas publishing one fixed host port",
    yaml: 'name: t\ncontainers:\n  api:\n    deploy: {replicas: 2}\n    ports: ["8080:80"]\n',
    errors: [
      '5:13: host port 0.0.0.0:8080/tcp of "api-2" is already published by "api-1" on host "host" (Bind for 0.0.0.0:8080 failed: port is already allocated)',
    ],
  },
  {
    name: "ports with container network mode",
    yaml:
      'name: t\ncontainers:\n  web: {}\n  side:\n    network_mode: "container:web"\n    ports: ["80:80"]\n',
    errors: ["6:5: conflicting options: port publishing and the container type network mode"],
  },
  {
    name: "lab name too long for a namespace file name",
    yaml: `name: ${"a".repeat(186)}\ncontainers:\n  web: {}\n`,
    errors: [
      `1:7: name "${
        "a".repeat(40)
      }…" is 186 bytes; lab names are at most 185 (the namespace <lab>-<container> must fit a file name of /run/netns)`,
    ],
  },
  {
    name: "lab name with uppercase",
    yaml: "name: Shop\ncontainers:\n  web: {}\n",
    errors: [
      '1:7: name "Shop" must contain only lowercase letters, digits, dashes and underscores and start with a letter or digit',
    ],
  },
  {
    name: "host name too long for an interface name",
    yaml: "name: t\nhosts:\n  datacenter-1: {}\n",
    errors: [
      '3:3: host name "datacenter-1" cannot be used: it becomes the interface name u-datacenter-1 (≤ 15 bytes) and the namespace <lab>-datacenter-1',
    ],
  },
  {
    name: "two service names that differ only in case",
    yaml: "name: t\ncontainers:\n  Web: {}\n  web: {}\n",
    errors: [
      '4:3: service names "Web" and "web" differ only in case: both would be namespace <lab>-web',
    ],
  },
  {
    name: "macvlan parent other than eth0",
    yaml: "name: t\nnetworks:\n  lan:\n    driver: macvlan\n    driver_opts: {parent: eth1}\n",
    errors: [
      '5:27: macvlan parent "eth1" is not usable: each host has only eth0 (its underlay link)',
    ],
  },
  {
    name: "macvlan VLAN id out of range",
    yaml: "name: t\nnetworks:\n  lan:\n    driver: macvlan\n    driver_opts: {parent: eth0.5000}\n",
    errors: [
      '5:27: macvlan parent "eth0.5000" is not usable: each host has only eth0 (its underlay link)',
    ],
  },
  {
    name: "more replicas than free addresses",
    yaml:
      "name: t\nnetworks:\n  a: {ipam: {config: [{subnet: 172.20.0.0/29}]}}\ncontainers:\n  api:\n    deploy: {replicas: 6}\n    networks: [a]\n",
    errors: [
      '7:16: network "a" has no free address left for "api-6" on host "host": range 172.20.0.0/29 holds 6 addresses already',
    ],
  },
  {
    name: "docker0 named under networks (it is network_mode: bridge)",
    yaml: "name: t\ncontainers:\n  web:\n    networks:\n      bridge: {aliases: [www]}\n",
    errors: ['5:7: service "web" refers to undefined network bridge'],
  },
  {
    name: "an external network that does not exist",
    yaml: "name: t\nnetworks:\n  proxy: {external: true, name: traefik}\ncontainers:\n  web: {}\n",
    errors: ["3:21: network traefik declared as external, but could not be found"],
  },
  {
    // Compose's one error, not a second one for the service that uses it
    name: "a service on an external network that does not exist",
    yaml: "networks:\n  edge: {external: true}\nservices:\n  web: {networks: [edge]}\n",
    errors: ["2:20: network edge declared as external, but could not be found"],
  },
  {
    name: "duplicate host addresses",
    yaml: "name: t\nhosts:\n  h1: {address: 10.77.0.11}\n  h2: {address: 10.77.0.11}\n",
    errors: ["4:17: host address 10.77.0.11 is already used by host h1"],
  },
  {
    name: "host address outside the underlay",
    yaml: "name: t\nunderlay: {subnet: 10.77.0.0/24}\nhosts:\n  h1: {address: 10.78.0.11}\n",
    errors: ["4:17: host address 10.78.0.11 is outside the underlay 10.77.0.0/24"],
  },
  {
    name: "ipvlan driver",
    yaml: "name: t\nnetworks:\n  l2:\n    driver: ipvlan\n",
    errors: ["4:13: ipvlan is not available on this kernel (no ipvlan module)"],
  },
  {
    name: "containers and services both present",
    yaml: "name: t\ncontainers:\n  web: {}\nservices:\n  api: {}\n",
    errors: ["4:1: both containers: and services: are present; they are synonyms"],
  },
  {
    name: "IPv6 loopback host_ip with udp",
    yaml: 'name: t\ncontainers:\n  web:\n    ports: ["[::1]:5353:53/udp"]\n',
    errors: ['4:13: host_ip "[::1]" with udp: nslab\'s IPv6 loopback proxy carries TCP only'],
  },
  {
    name: "subnet with host bits set",
    yaml: "name: t\nnetworks:\n  a: {ipam: {config: [{subnet: 172.20.0.1/24}]}}\n",
    errors: ['3:32: invalid subnet "172.20.0.1/24": it has host bits set'],
  },
  {
    name: "unknown driver with did-you-mean",
    yaml: "name: t\nnetworks:\n  m: {driver: overlya}\n",
    errors: ['3:15: unknown network driver "overlya" (did you mean "overlay"?)'],
  },
  {
    name: "check with an unknown expectation",
    yaml: "name: t\ncontainers:\n  web: {}\nchecks:\n  - {from: web, to: web, expect: opne}\n",
    errors: [
      '5:34: unknown expectation "opne": not a keyword or a container (did you mean "open"?)',
    ],
  },
  {
    name: "container named like a host",
    yaml: "name: t\nhosts:\n  h1: {}\ncontainers:\n  h1: {}\n",
    errors: [
      '5:3: container name "h1" is already taken by host h1: both would be namespace <lab>-h1',
    ],
  },
  {
    name: "network_mode cycle",
    yaml:
      'name: t\ncontainers:\n  a: {network_mode: "container:b"}\n  b: {network_mode: "container:a"}\n',
    errors: ['3:21: network_mode of "a" forms a cycle (a → b → a)'],
  },
  {
    name: "unknown restart policy",
    yaml: "name: t\ncontainers:\n  web: {restart: sometimes}\n",
    errors: ['3:18: containers.web.restart "sometimes" is not valid'],
  },
  {
    name: "command with an unterminated quote",
    yaml: 'name: t\ncontainers:\n  web: {command: "echo \'hi"}\n',
    errors: ["3:18: cannot split command: the command has an unterminated ' quote"],
  },
  {
    name: "declaring the predefined bridge network",
    yaml: "name: t\nnetworks:\n  bridge: {}\n",
    errors: [
      '3:3: network "bridge" is predefined and cannot be declared (it is docker0, 172.17.0.0/16, on every host)',
    ],
  },
  {
    name: "mac_address on a replicated service",
    yaml:
      'name: t\nnetworks:\n  a: {}\ncontainers:\n  api:\n    deploy: {replicas: 2}\n    networks:\n      a: {mac_address: "02:00:00:00:00:01"}\n',
    errors: [
      '8:24: mac_address on service "api" with 2 replicas would give every replica the same MAC',
    ],
  },
  {
    name: "two overlays with one vni",
    yaml:
      'name: t\nnetworks:\n  m1: {driver: overlay, driver_opts: {vni: 5000}}\n  m2: {driver: overlay, driver_opts: {vni: "5000"}}\n',
    errors: ['4:44: vni 5000 is already used by overlay network "m1"'],
  },
  {
    name: "ip_range outside the subnet",
    yaml:
      "name: t\nnetworks:\n  a: {ipam: {config: [{subnet: 172.20.0.0/24, ip_range: 172.20.1.0/25}]}}\n",
    errors: ["3:57: ip_range 172.20.1.0/25 is not inside subnet 172.20.0.0/24"],
  },
  {
    name: "network_mode with an unknown value",
    yaml: "name: t\ncontainers:\n  web: {network_mode: bridged}\n",
    errors: ['3:23: containers.web.network_mode "bridged" is not valid'],
  },
  {
    name: "every error of a file is reported in one run",
    yaml:
      'name: t\nnetwroks: {}\ncontainers:\n  web:\n    ports: ["99999:80"]\n    networks: [nope]\n',
    errors: [
      '2:1: unknown key "netwroks" in the topology (did you mean "networks"?)',
      '5:13: invalid host port "99999": port 99999 is outside 1-65535',
      '6:16: service "web" refers to undefined network nope',
    ],
  },
];
