#pragma once
// Replies of a real Redis 7.0.15 cluster (3 masters, 3 replicas on 127.0.0.1:31101-31106, unless
// said otherwise), captured byte for byte from the wire. Used by cluster_topology_test.cpp.

#include <string_view>

namespace cluster_replies {

// CLUSTER SHARDS, RESP2, just after `redis-cli --cluster create`: nothing written yet, so
// replicas at offset 0 report health "loading".
inline constexpr std::string_view shards_resp2_fresh =
    "*3\r\n*4\r\n$5\r\nslots\r\n*2\r\n:10923\r\n:16383\r\n$5\r\nnodes\r\n*2\r\n*14\r\n$2\r\n"
    "id\r\n$40\r\n634e38e87fd98b974836b51e0cdcee10b28ce693\r\n$4\r\nport\r\n:31103\r\n$2\r\n"
    "ip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\n"
    "master\r\n$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$6\r\nonline\r\n*14\r\n"
    "$2\r\nid\r\n$40\r\n92e7985b262dc4b2c47a16f8c047f48a0d29da9f\r\n$4\r\nport\r\n:31106\r\n"
    "$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\n"
    "replica\r\n$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$7\r\nloading\r\n*4\r\n"
    "$5\r\nslots\r\n*2\r\n:5461\r\n:10922\r\n$5\r\nnodes\r\n*2\r\n*14\r\n$2\r\nid\r\n$40\r\n"
    "c3edaa2fad775fc285f6c32d2b4a88bc60b498d8\r\n$4\r\nport\r\n:31102\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\n"
    "replication-offset\r\n:0\r\n$6\r\nhealth\r\n$6\r\nonline\r\n*14\r\n$2\r\nid\r\n$40\r\n"
    "5c398ffa9ca0a568eb004e9aaae60502cc605a75\r\n$4\r\nport\r\n:31105\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n$18\r\n"
    "replication-offset\r\n:0\r\n$6\r\nhealth\r\n$7\r\nloading\r\n*4\r\n$5\r\nslots\r\n*2\r\n"
    ":0\r\n:5460\r\n$5\r\nnodes\r\n*2\r\n*14\r\n$2\r\nid\r\n$40\r\n"
    "d99b8d2c4b012a27c4defcfa88f1c38965e3585c\r\n$4\r\nport\r\n:31101\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\n"
    "replication-offset\r\n:0\r\n$6\r\nhealth\r\n$6\r\nonline\r\n*14\r\n$2\r\nid\r\n$40\r\n"
    "99468a273d3e254b45b12e1d92c3833d01acea2c\r\n$4\r\nport\r\n:31104\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n$18\r\n"
    "replication-offset\r\n:0\r\n$6\r\nhealth\r\n$7\r\nloading\r\n";

// CLUSTER SHARDS, RESP3, after some writes: every node online.
inline constexpr std::string_view shards_resp3 =
    "*3\r\n%2\r\n$5\r\nslots\r\n*2\r\n:10923\r\n:16383\r\n$5\r\nnodes\r\n*2\r\n%7\r\n$2\r\n"
    "id\r\n$40\r\n634e38e87fd98b974836b51e0cdcee10b28ce693\r\n$4\r\nport\r\n:31103\r\n$2\r\n"
    "ip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\n"
    "master\r\n$18\r\nreplication-offset\r\n:687\r\n$6\r\nhealth\r\n$6\r\nonline\r\n%7\r\n"
    "$2\r\nid\r\n$40\r\n92e7985b262dc4b2c47a16f8c047f48a0d29da9f\r\n$4\r\nport\r\n:31106\r\n"
    "$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\n"
    "replica\r\n$18\r\nreplication-offset\r\n:687\r\n$6\r\nhealth\r\n$6\r\nonline\r\n%2\r\n"
    "$5\r\nslots\r\n*2\r\n:5461\r\n:10922\r\n$5\r\nnodes\r\n*2\r\n%7\r\n$2\r\nid\r\n$40\r\n"
    "c3edaa2fad775fc285f6c32d2b4a88bc60b498d8\r\n$4\r\nport\r\n:31102\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\n"
    "replication-offset\r\n:571\r\n$6\r\nhealth\r\n$6\r\nonline\r\n%7\r\n$2\r\nid\r\n$40\r\n"
    "5c398ffa9ca0a568eb004e9aaae60502cc605a75\r\n$4\r\nport\r\n:31105\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n$18\r\n"
    "replication-offset\r\n:571\r\n$6\r\nhealth\r\n$6\r\nonline\r\n%2\r\n$5\r\nslots\r\n"
    "*2\r\n:0\r\n:5460\r\n$5\r\nnodes\r\n*2\r\n%7\r\n$2\r\nid\r\n$40\r\n"
    "d99b8d2c4b012a27c4defcfa88f1c38965e3585c\r\n$4\r\nport\r\n:31101\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\n"
    "replication-offset\r\n:541\r\n$6\r\nhealth\r\n$6\r\nonline\r\n%7\r\n$2\r\nid\r\n$40\r\n"
    "99468a273d3e254b45b12e1d92c3833d01acea2c\r\n$4\r\nport\r\n:31104\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n$18\r\n"
    "replication-offset\r\n:541\r\n$6\r\nhealth\r\n$6\r\nonline\r\n";

// The same cluster a moment later, RESP2 (maps are flat key/value arrays).
inline constexpr std::string_view shards_resp2 =
    "*3\r\n*4\r\n$5\r\nslots\r\n*2\r\n:10923\r\n:16383\r\n$5\r\nnodes\r\n*2\r\n*14\r\n$2\r\n"
    "id\r\n$40\r\n634e38e87fd98b974836b51e0cdcee10b28ce693\r\n$4\r\nport\r\n:31103\r\n$2\r\n"
    "ip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\n"
    "master\r\n$18\r\nreplication-offset\r\n:687\r\n$6\r\nhealth\r\n$6\r\nonline\r\n*14\r\n"
    "$2\r\nid\r\n$40\r\n92e7985b262dc4b2c47a16f8c047f48a0d29da9f\r\n$4\r\nport\r\n:31106\r\n"
    "$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\n"
    "replica\r\n$18\r\nreplication-offset\r\n:687\r\n$6\r\nhealth\r\n$6\r\nonline\r\n*4\r\n"
    "$5\r\nslots\r\n*2\r\n:5461\r\n:10922\r\n$5\r\nnodes\r\n*2\r\n*14\r\n$2\r\nid\r\n$40\r\n"
    "c3edaa2fad775fc285f6c32d2b4a88bc60b498d8\r\n$4\r\nport\r\n:31102\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\n"
    "replication-offset\r\n:571\r\n$6\r\nhealth\r\n$6\r\nonline\r\n*14\r\n$2\r\nid\r\n$40\r\n"
    "5c398ffa9ca0a568eb004e9aaae60502cc605a75\r\n$4\r\nport\r\n:31105\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n$18\r\n"
    "replication-offset\r\n:571\r\n$6\r\nhealth\r\n$6\r\nonline\r\n*4\r\n$5\r\nslots\r\n"
    "*2\r\n:0\r\n:5460\r\n$5\r\nnodes\r\n*2\r\n*14\r\n$2\r\nid\r\n$40\r\n"
    "d99b8d2c4b012a27c4defcfa88f1c38965e3585c\r\n$4\r\nport\r\n:31101\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\n"
    "replication-offset\r\n:541\r\n$6\r\nhealth\r\n$6\r\nonline\r\n*14\r\n$2\r\nid\r\n$40\r\n"
    "99468a273d3e254b45b12e1d92c3833d01acea2c\r\n$4\r\nport\r\n:31104\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n$18\r\n"
    "replication-offset\r\n:541\r\n$6\r\nhealth\r\n$6\r\nonline\r\n";

// CLUSTER SLOTS, RESP3, same cluster (empty metadata maps).
inline constexpr std::string_view slots_resp3 =
    "*3\r\n*4\r\n:0\r\n:5460\r\n*4\r\n$9\r\n127.0.0.1\r\n:31101\r\n$40\r\n"
    "d99b8d2c4b012a27c4defcfa88f1c38965e3585c\r\n%0\r\n*4\r\n$9\r\n127.0.0.1\r\n:31104\r\n"
    "$40\r\n99468a273d3e254b45b12e1d92c3833d01acea2c\r\n%0\r\n*4\r\n:5461\r\n:10922\r\n*4\r\n"
    "$9\r\n127.0.0.1\r\n:31102\r\n$40\r\nc3edaa2fad775fc285f6c32d2b4a88bc60b498d8\r\n%0\r\n"
    "*4\r\n$9\r\n127.0.0.1\r\n:31105\r\n$40\r\n5c398ffa9ca0a568eb004e9aaae60502cc605a75\r\n"
    "%0\r\n*4\r\n:10923\r\n:16383\r\n*4\r\n$9\r\n127.0.0.1\r\n:31103\r\n$40\r\n"
    "634e38e87fd98b974836b51e0cdcee10b28ce693\r\n%0\r\n*4\r\n$9\r\n127.0.0.1\r\n:31106\r\n"
    "$40\r\n92e7985b262dc4b2c47a16f8c047f48a0d29da9f\r\n%0\r\n";

// CLUSTER SLOTS, RESP2 (metadata as empty arrays).
inline constexpr std::string_view slots_resp2 =
    "*3\r\n*4\r\n:0\r\n:5460\r\n*4\r\n$9\r\n127.0.0.1\r\n:31101\r\n$40\r\n"
    "d99b8d2c4b012a27c4defcfa88f1c38965e3585c\r\n*0\r\n*4\r\n$9\r\n127.0.0.1\r\n:31104\r\n"
    "$40\r\n99468a273d3e254b45b12e1d92c3833d01acea2c\r\n*0\r\n*4\r\n:5461\r\n:10922\r\n*4\r\n"
    "$9\r\n127.0.0.1\r\n:31102\r\n$40\r\nc3edaa2fad775fc285f6c32d2b4a88bc60b498d8\r\n*0\r\n"
    "*4\r\n$9\r\n127.0.0.1\r\n:31105\r\n$40\r\n5c398ffa9ca0a568eb004e9aaae60502cc605a75\r\n"
    "*0\r\n*4\r\n:10923\r\n:16383\r\n*4\r\n$9\r\n127.0.0.1\r\n:31103\r\n$40\r\n"
    "634e38e87fd98b974836b51e0cdcee10b28ce693\r\n*0\r\n*4\r\n$9\r\n127.0.0.1\r\n:31106\r\n"
    "$40\r\n92e7985b262dc4b2c47a16f8c047f48a0d29da9f\r\n*0\r\n";

// cluster-preferred-endpoint-type unknown-endpoint on the answering node: endpoint "".
inline constexpr std::string_view shards_resp3_unknown_endpoint =
    "*3\r\n%2\r\n$5\r\nslots\r\n*2\r\n:10923\r\n:16383\r\n$5\r\nnodes\r\n*2\r\n%7\r\n$2\r\n"
    "id\r\n$40\r\n634e38e87fd98b974836b51e0cdcee10b28ce693\r\n$4\r\nport\r\n:31103\r\n$2\r\n"
    "ip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$0\r\n\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
    "$18\r\nreplication-offset\r\n:687\r\n$6\r\nhealth\r\n$6\r\nonline\r\n%7\r\n$2\r\nid\r\n"
    "$40\r\n92e7985b262dc4b2c47a16f8c047f48a0d29da9f\r\n$4\r\nport\r\n:31106\r\n$2\r\nip\r\n"
    "$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$0\r\n\r\n$4\r\nrole\r\n$7\r\nreplica\r\n$18\r\n"
    "replication-offset\r\n:687\r\n$6\r\nhealth\r\n$6\r\nonline\r\n%2\r\n$5\r\nslots\r\n"
    "*2\r\n:5461\r\n:10922\r\n$5\r\nnodes\r\n*2\r\n%7\r\n$2\r\nid\r\n$40\r\n"
    "c3edaa2fad775fc285f6c32d2b4a88bc60b498d8\r\n$4\r\nport\r\n:31102\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$0\r\n\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\n"
    "replication-offset\r\n:571\r\n$6\r\nhealth\r\n$6\r\nonline\r\n%7\r\n$2\r\nid\r\n$40\r\n"
    "5c398ffa9ca0a568eb004e9aaae60502cc605a75\r\n$4\r\nport\r\n:31105\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$0\r\n\r\n$4\r\nrole\r\n$7\r\nreplica\r\n$18\r\n"
    "replication-offset\r\n:571\r\n$6\r\nhealth\r\n$6\r\nonline\r\n%2\r\n$5\r\nslots\r\n"
    "*2\r\n:0\r\n:5460\r\n$5\r\nnodes\r\n*2\r\n%7\r\n$2\r\nid\r\n$40\r\n"
    "d99b8d2c4b012a27c4defcfa88f1c38965e3585c\r\n$4\r\nport\r\n:31101\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$0\r\n\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\n"
    "replication-offset\r\n:541\r\n$6\r\nhealth\r\n$6\r\nonline\r\n%7\r\n$2\r\nid\r\n$40\r\n"
    "99468a273d3e254b45b12e1d92c3833d01acea2c\r\n$4\r\nport\r\n:31104\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$0\r\n\r\n$4\r\nrole\r\n$7\r\nreplica\r\n$18\r\n"
    "replication-offset\r\n:541\r\n$6\r\nhealth\r\n$6\r\nonline\r\n";

// The same, CLUSTER SLOTS: endpoint NULL, the IP in the metadata.
inline constexpr std::string_view slots_resp2_unknown_endpoint =
    "*3\r\n*4\r\n:0\r\n:5460\r\n*4\r\n$-1\r\n:31101\r\n$40\r\n"
    "d99b8d2c4b012a27c4defcfa88f1c38965e3585c\r\n*2\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n*4\r\n"
    "$-1\r\n:31104\r\n$40\r\n99468a273d3e254b45b12e1d92c3833d01acea2c\r\n*2\r\n$2\r\nip\r\n"
    "$9\r\n127.0.0.1\r\n*4\r\n:5461\r\n:10922\r\n*4\r\n$-1\r\n:31102\r\n$40\r\n"
    "c3edaa2fad775fc285f6c32d2b4a88bc60b498d8\r\n*2\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n*4\r\n"
    "$-1\r\n:31105\r\n$40\r\n5c398ffa9ca0a568eb004e9aaae60502cc605a75\r\n*2\r\n$2\r\nip\r\n"
    "$9\r\n127.0.0.1\r\n*4\r\n:10923\r\n:16383\r\n*4\r\n$-1\r\n:31103\r\n$40\r\n"
    "634e38e87fd98b974836b51e0cdcee10b28ce693\r\n*2\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n*4\r\n"
    "$-1\r\n:31106\r\n$40\r\n92e7985b262dc4b2c47a16f8c047f48a0d29da9f\r\n*2\r\n$2\r\nip\r\n"
    "$9\r\n127.0.0.1\r\n";

// cluster-preferred-endpoint-type hostname, no cluster-announce-hostname: endpoint "?".
inline constexpr std::string_view shards_resp2_hostname_missing =
    "*3\r\n*4\r\n$5\r\nslots\r\n*2\r\n:10923\r\n:16383\r\n$5\r\nnodes\r\n*2\r\n*14\r\n$2\r\n"
    "id\r\n$40\r\n634e38e87fd98b974836b51e0cdcee10b28ce693\r\n$4\r\nport\r\n:31103\r\n$2\r\n"
    "ip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$1\r\n?\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
    "$18\r\nreplication-offset\r\n:687\r\n$6\r\nhealth\r\n$6\r\nonline\r\n*14\r\n$2\r\nid\r\n"
    "$40\r\n92e7985b262dc4b2c47a16f8c047f48a0d29da9f\r\n$4\r\nport\r\n:31106\r\n$2\r\nip\r\n"
    "$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$1\r\n?\r\n$4\r\nrole\r\n$7\r\nreplica\r\n$18\r\n"
    "replication-offset\r\n:687\r\n$6\r\nhealth\r\n$6\r\nonline\r\n*4\r\n$5\r\nslots\r\n"
    "*2\r\n:5461\r\n:10922\r\n$5\r\nnodes\r\n*2\r\n*14\r\n$2\r\nid\r\n$40\r\n"
    "c3edaa2fad775fc285f6c32d2b4a88bc60b498d8\r\n$4\r\nport\r\n:31102\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$1\r\n?\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\n"
    "replication-offset\r\n:571\r\n$6\r\nhealth\r\n$6\r\nonline\r\n*14\r\n$2\r\nid\r\n$40\r\n"
    "5c398ffa9ca0a568eb004e9aaae60502cc605a75\r\n$4\r\nport\r\n:31105\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$1\r\n?\r\n$4\r\nrole\r\n$7\r\nreplica\r\n$18\r\n"
    "replication-offset\r\n:571\r\n$6\r\nhealth\r\n$6\r\nonline\r\n*4\r\n$5\r\nslots\r\n"
    "*2\r\n:0\r\n:5460\r\n$5\r\nnodes\r\n*2\r\n*14\r\n$2\r\nid\r\n$40\r\n"
    "d99b8d2c4b012a27c4defcfa88f1c38965e3585c\r\n$4\r\nport\r\n:31101\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$1\r\n?\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\n"
    "replication-offset\r\n:541\r\n$6\r\nhealth\r\n$6\r\nonline\r\n*14\r\n$2\r\nid\r\n$40\r\n"
    "99468a273d3e254b45b12e1d92c3833d01acea2c\r\n$4\r\nport\r\n:31104\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$1\r\n?\r\n$4\r\nrole\r\n$7\r\nreplica\r\n$18\r\n"
    "replication-offset\r\n:541\r\n$6\r\nhealth\r\n$6\r\nonline\r\n";

// The same, CLUSTER SLOTS in RESP3: "?" with the IP in a metadata map.
inline constexpr std::string_view slots_resp3_hostname_missing =
    "*3\r\n*4\r\n:0\r\n:5460\r\n*4\r\n$1\r\n?\r\n:31101\r\n$40\r\n"
    "d99b8d2c4b012a27c4defcfa88f1c38965e3585c\r\n%1\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n*4\r\n"
    "$1\r\n?\r\n:31104\r\n$40\r\n99468a273d3e254b45b12e1d92c3833d01acea2c\r\n%1\r\n$2\r\n"
    "ip\r\n$9\r\n127.0.0.1\r\n*4\r\n:5461\r\n:10922\r\n*4\r\n$1\r\n?\r\n:31102\r\n$40\r\n"
    "c3edaa2fad775fc285f6c32d2b4a88bc60b498d8\r\n%1\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n*4\r\n"
    "$1\r\n?\r\n:31105\r\n$40\r\n5c398ffa9ca0a568eb004e9aaae60502cc605a75\r\n%1\r\n$2\r\n"
    "ip\r\n$9\r\n127.0.0.1\r\n*4\r\n:10923\r\n:16383\r\n*4\r\n$1\r\n?\r\n:31103\r\n$40\r\n"
    "634e38e87fd98b974836b51e0cdcee10b28ce693\r\n%1\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n*4\r\n"
    "$1\r\n?\r\n:31106\r\n$40\r\n92e7985b262dc4b2c47a16f8c047f48a0d29da9f\r\n%1\r\n$2\r\n"
    "ip\r\n$9\r\n127.0.0.1\r\n";

// Preferred type hostname; node 31103 announces "localhost": only it has an endpoint.
inline constexpr std::string_view slots_resp2_hostname =
    "*3\r\n*4\r\n:0\r\n:5460\r\n*4\r\n$1\r\n?\r\n:31101\r\n$40\r\n"
    "d99b8d2c4b012a27c4defcfa88f1c38965e3585c\r\n*2\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n*4\r\n"
    "$1\r\n?\r\n:31104\r\n$40\r\n99468a273d3e254b45b12e1d92c3833d01acea2c\r\n*2\r\n$2\r\n"
    "ip\r\n$9\r\n127.0.0.1\r\n*4\r\n:5461\r\n:10922\r\n*4\r\n$1\r\n?\r\n:31102\r\n$40\r\n"
    "c3edaa2fad775fc285f6c32d2b4a88bc60b498d8\r\n*2\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n*4\r\n"
    "$1\r\n?\r\n:31105\r\n$40\r\n5c398ffa9ca0a568eb004e9aaae60502cc605a75\r\n*2\r\n$2\r\n"
    "ip\r\n$9\r\n127.0.0.1\r\n*4\r\n:10923\r\n:16383\r\n*4\r\n$9\r\nlocalhost\r\n:31103\r\n"
    "$40\r\n634e38e87fd98b974836b51e0cdcee10b28ce693\r\n*2\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n"
    "*4\r\n$1\r\n?\r\n:31106\r\n$40\r\n92e7985b262dc4b2c47a16f8c047f48a0d29da9f\r\n*2\r\n"
    "$2\r\nip\r\n$9\r\n127.0.0.1\r\n";

// Preferred type ip again, 31103 still announcing "localhost": an extra "hostname" field.
inline constexpr std::string_view shards_resp3_announced_hostname =
    "*3\r\n%2\r\n$5\r\nslots\r\n*2\r\n:10923\r\n:16383\r\n$5\r\nnodes\r\n*2\r\n%8\r\n$2\r\n"
    "id\r\n$40\r\n634e38e87fd98b974836b51e0cdcee10b28ce693\r\n$4\r\nport\r\n:31103\r\n$2\r\n"
    "ip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$8\r\nhostname\r\n$9\r\n"
    "localhost\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\nreplication-offset\r\n:701\r\n$6\r\n"
    "health\r\n$6\r\nonline\r\n%7\r\n$2\r\nid\r\n$40\r\n"
    "92e7985b262dc4b2c47a16f8c047f48a0d29da9f\r\n$4\r\nport\r\n:31106\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n$18\r\n"
    "replication-offset\r\n:701\r\n$6\r\nhealth\r\n$6\r\nonline\r\n%2\r\n$5\r\nslots\r\n"
    "*2\r\n:5461\r\n:10922\r\n$5\r\nnodes\r\n*2\r\n%7\r\n$2\r\nid\r\n$40\r\n"
    "c3edaa2fad775fc285f6c32d2b4a88bc60b498d8\r\n$4\r\nport\r\n:31102\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\n"
    "replication-offset\r\n:585\r\n$6\r\nhealth\r\n$6\r\nonline\r\n%7\r\n$2\r\nid\r\n$40\r\n"
    "5c398ffa9ca0a568eb004e9aaae60502cc605a75\r\n$4\r\nport\r\n:31105\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n$18\r\n"
    "replication-offset\r\n:585\r\n$6\r\nhealth\r\n$6\r\nonline\r\n%2\r\n$5\r\nslots\r\n"
    "*2\r\n:0\r\n:5460\r\n$5\r\nnodes\r\n*2\r\n%7\r\n$2\r\nid\r\n$40\r\n"
    "d99b8d2c4b012a27c4defcfa88f1c38965e3585c\r\n$4\r\nport\r\n:31101\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\n"
    "replication-offset\r\n:555\r\n$6\r\nhealth\r\n$6\r\nonline\r\n%7\r\n$2\r\nid\r\n$40\r\n"
    "99468a273d3e254b45b12e1d92c3833d01acea2c\r\n$4\r\nport\r\n:31104\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n$18\r\n"
    "replication-offset\r\n:555\r\n$6\r\nhealth\r\n$6\r\nonline\r\n";

// The same, CLUSTER SLOTS: the hostname in 31103's metadata.
inline constexpr std::string_view slots_resp3_announced_hostname =
    "*3\r\n*4\r\n:0\r\n:5460\r\n*4\r\n$9\r\n127.0.0.1\r\n:31101\r\n$40\r\n"
    "d99b8d2c4b012a27c4defcfa88f1c38965e3585c\r\n%0\r\n*4\r\n$9\r\n127.0.0.1\r\n:31104\r\n"
    "$40\r\n99468a273d3e254b45b12e1d92c3833d01acea2c\r\n%0\r\n*4\r\n:5461\r\n:10922\r\n*4\r\n"
    "$9\r\n127.0.0.1\r\n:31102\r\n$40\r\nc3edaa2fad775fc285f6c32d2b4a88bc60b498d8\r\n%0\r\n"
    "*4\r\n$9\r\n127.0.0.1\r\n:31105\r\n$40\r\n5c398ffa9ca0a568eb004e9aaae60502cc605a75\r\n"
    "%0\r\n*4\r\n:10923\r\n:16383\r\n*4\r\n$9\r\n127.0.0.1\r\n:31103\r\n$40\r\n"
    "634e38e87fd98b974836b51e0cdcee10b28ce693\r\n%1\r\n$8\r\nhostname\r\n$9\r\nlocalhost\r\n"
    "*4\r\n$9\r\n127.0.0.1\r\n:31106\r\n$40\r\n92e7985b262dc4b2c47a16f8c047f48a0d29da9f\r\n"
    "%0\r\n";

// Slot 12706 migrated from 31103 to 31101 (asked of 31102): two shards with two ranges.
inline constexpr std::string_view shards_resp2_split =
    "*3\r\n*4\r\n$5\r\nslots\r\n*4\r\n:10923\r\n:12705\r\n:12707\r\n:16383\r\n$5\r\nnodes\r\n"
    "*2\r\n*14\r\n$2\r\nid\r\n$40\r\n634e38e87fd98b974836b51e0cdcee10b28ce693\r\n$4\r\n"
    "port\r\n:31103\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n"
    "$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\nreplication-offset\r\n:745\r\n$6\r\nhealth\r\n"
    "$6\r\nonline\r\n*14\r\n$2\r\nid\r\n$40\r\n92e7985b262dc4b2c47a16f8c047f48a0d29da9f\r\n"
    "$4\r\nport\r\n:31106\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n"
    "127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n$18\r\nreplication-offset\r\n:745\r\n$6\r\n"
    "health\r\n$6\r\nonline\r\n*4\r\n$5\r\nslots\r\n*2\r\n:5461\r\n:10922\r\n$5\r\nnodes\r\n"
    "*2\r\n*14\r\n$2\r\nid\r\n$40\r\nc3edaa2fad775fc285f6c32d2b4a88bc60b498d8\r\n$4\r\n"
    "port\r\n:31102\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n"
    "$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\nreplication-offset\r\n:585\r\n$6\r\nhealth\r\n"
    "$6\r\nonline\r\n*14\r\n$2\r\nid\r\n$40\r\n5c398ffa9ca0a568eb004e9aaae60502cc605a75\r\n"
    "$4\r\nport\r\n:31105\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n"
    "127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n$18\r\nreplication-offset\r\n:585\r\n$6\r\n"
    "health\r\n$6\r\nonline\r\n*4\r\n$5\r\nslots\r\n*4\r\n:0\r\n:5460\r\n:12706\r\n:12706\r\n"
    "$5\r\nnodes\r\n*2\r\n*14\r\n$2\r\nid\r\n$40\r\n"
    "d99b8d2c4b012a27c4defcfa88f1c38965e3585c\r\n$4\r\nport\r\n:31101\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\n"
    "replication-offset\r\n:638\r\n$6\r\nhealth\r\n$6\r\nonline\r\n*14\r\n$2\r\nid\r\n$40\r\n"
    "99468a273d3e254b45b12e1d92c3833d01acea2c\r\n$4\r\nport\r\n:31104\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n$18\r\n"
    "replication-offset\r\n:638\r\n$6\r\nhealth\r\n$6\r\nonline\r\n";

// The same, CLUSTER SLOTS: one entry per range, masters repeated.
inline constexpr std::string_view slots_resp3_split =
    "*5\r\n*4\r\n:0\r\n:5460\r\n*4\r\n$9\r\n127.0.0.1\r\n:31101\r\n$40\r\n"
    "d99b8d2c4b012a27c4defcfa88f1c38965e3585c\r\n%0\r\n*4\r\n$9\r\n127.0.0.1\r\n:31104\r\n"
    "$40\r\n99468a273d3e254b45b12e1d92c3833d01acea2c\r\n%0\r\n*4\r\n:5461\r\n:10922\r\n*4\r\n"
    "$9\r\n127.0.0.1\r\n:31102\r\n$40\r\nc3edaa2fad775fc285f6c32d2b4a88bc60b498d8\r\n%0\r\n"
    "*4\r\n$9\r\n127.0.0.1\r\n:31105\r\n$40\r\n5c398ffa9ca0a568eb004e9aaae60502cc605a75\r\n"
    "%0\r\n*4\r\n:10923\r\n:12705\r\n*4\r\n$9\r\n127.0.0.1\r\n:31103\r\n$40\r\n"
    "634e38e87fd98b974836b51e0cdcee10b28ce693\r\n%0\r\n*4\r\n$9\r\n127.0.0.1\r\n:31106\r\n"
    "$40\r\n92e7985b262dc4b2c47a16f8c047f48a0d29da9f\r\n%0\r\n*4\r\n:12706\r\n:12706\r\n"
    "*4\r\n$9\r\n127.0.0.1\r\n:31101\r\n$40\r\nd99b8d2c4b012a27c4defcfa88f1c38965e3585c\r\n"
    "%0\r\n*4\r\n$9\r\n127.0.0.1\r\n:31104\r\n$40\r\n"
    "99468a273d3e254b45b12e1d92c3833d01acea2c\r\n%0\r\n*4\r\n:12707\r\n:16383\r\n*4\r\n$9\r\n"
    "127.0.0.1\r\n:31103\r\n$40\r\n634e38e87fd98b974836b51e0cdcee10b28ce693\r\n%0\r\n*4\r\n"
    "$9\r\n127.0.0.1\r\n:31106\r\n$40\r\n92e7985b262dc4b2c47a16f8c047f48a0d29da9f\r\n%0\r\n";

// Master 31102 SIGKILLed, its replica 31105 promoted: the failed master is a shard of its
// own, without slots, health "fail".
inline constexpr std::string_view shards_resp3_failover =
    "*4\r\n%2\r\n$5\r\nslots\r\n*4\r\n:10923\r\n:12705\r\n:12707\r\n:16383\r\n$5\r\nnodes\r\n"
    "*2\r\n%7\r\n$2\r\nid\r\n$40\r\n634e38e87fd98b974836b51e0cdcee10b28ce693\r\n$4\r\n"
    "port\r\n:31103\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n"
    "$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\nreplication-offset\r\n:759\r\n$6\r\nhealth\r\n"
    "$6\r\nonline\r\n%7\r\n$2\r\nid\r\n$40\r\n92e7985b262dc4b2c47a16f8c047f48a0d29da9f\r\n"
    "$4\r\nport\r\n:31106\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n"
    "127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n$18\r\nreplication-offset\r\n:759\r\n$6\r\n"
    "health\r\n$6\r\nonline\r\n%2\r\n$5\r\nslots\r\n*2\r\n:5461\r\n:10922\r\n$5\r\nnodes\r\n"
    "*1\r\n%7\r\n$2\r\nid\r\n$40\r\n5c398ffa9ca0a568eb004e9aaae60502cc605a75\r\n$4\r\n"
    "port\r\n:31105\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n"
    "$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\nreplication-offset\r\n:585\r\n$6\r\nhealth\r\n"
    "$6\r\nonline\r\n%2\r\n$5\r\nslots\r\n*0\r\n$5\r\nnodes\r\n*1\r\n%7\r\n$2\r\nid\r\n"
    "$40\r\nc3edaa2fad775fc285f6c32d2b4a88bc60b498d8\r\n$4\r\nport\r\n:31102\r\n$2\r\nip\r\n"
    "$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
    "$18\r\nreplication-offset\r\n:585\r\n$6\r\nhealth\r\n$4\r\nfail\r\n%2\r\n$5\r\nslots\r\n"
    "*4\r\n:0\r\n:5460\r\n:12706\r\n:12706\r\n$5\r\nnodes\r\n*2\r\n%7\r\n$2\r\nid\r\n$40\r\n"
    "d99b8d2c4b012a27c4defcfa88f1c38965e3585c\r\n$4\r\nport\r\n:31101\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\n"
    "replication-offset\r\n:652\r\n$6\r\nhealth\r\n$6\r\nonline\r\n%7\r\n$2\r\nid\r\n$40\r\n"
    "99468a273d3e254b45b12e1d92c3833d01acea2c\r\n$4\r\nport\r\n:31104\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n$18\r\n"
    "replication-offset\r\n:652\r\n$6\r\nhealth\r\n$6\r\nonline\r\n";

// The same, CLUSTER SLOTS: 31105 serves 5461-10922 without a replica; 31102 is not listed.
inline constexpr std::string_view slots_resp2_failover =
    "*5\r\n*4\r\n:0\r\n:5460\r\n*4\r\n$9\r\n127.0.0.1\r\n:31101\r\n$40\r\n"
    "d99b8d2c4b012a27c4defcfa88f1c38965e3585c\r\n*0\r\n*4\r\n$9\r\n127.0.0.1\r\n:31104\r\n"
    "$40\r\n99468a273d3e254b45b12e1d92c3833d01acea2c\r\n*0\r\n*3\r\n:5461\r\n:10922\r\n*4\r\n"
    "$9\r\n127.0.0.1\r\n:31105\r\n$40\r\n5c398ffa9ca0a568eb004e9aaae60502cc605a75\r\n*0\r\n"
    "*4\r\n:10923\r\n:12705\r\n*4\r\n$9\r\n127.0.0.1\r\n:31103\r\n$40\r\n"
    "634e38e87fd98b974836b51e0cdcee10b28ce693\r\n*0\r\n*4\r\n$9\r\n127.0.0.1\r\n:31106\r\n"
    "$40\r\n92e7985b262dc4b2c47a16f8c047f48a0d29da9f\r\n*0\r\n*4\r\n:12706\r\n:12706\r\n"
    "*4\r\n$9\r\n127.0.0.1\r\n:31101\r\n$40\r\nd99b8d2c4b012a27c4defcfa88f1c38965e3585c\r\n"
    "*0\r\n*4\r\n$9\r\n127.0.0.1\r\n:31104\r\n$40\r\n"
    "99468a273d3e254b45b12e1d92c3833d01acea2c\r\n*0\r\n*4\r\n:12707\r\n:16383\r\n*4\r\n$9\r\n"
    "127.0.0.1\r\n:31103\r\n$40\r\n634e38e87fd98b974836b51e0cdcee10b28ce693\r\n*0\r\n*4\r\n"
    "$9\r\n127.0.0.1\r\n:31106\r\n$40\r\n92e7985b262dc4b2c47a16f8c047f48a0d29da9f\r\n*0\r\n";

// Then replica 31104 SIGKILLed: listed in its shard with health "fail".
inline constexpr std::string_view shards_resp2_replica_failed =
    "*4\r\n*4\r\n$5\r\nslots\r\n*4\r\n:10923\r\n:12705\r\n:12707\r\n:16383\r\n$5\r\nnodes\r\n"
    "*2\r\n*14\r\n$2\r\nid\r\n$40\r\n634e38e87fd98b974836b51e0cdcee10b28ce693\r\n$4\r\n"
    "port\r\n:31103\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n"
    "$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\nreplication-offset\r\n:759\r\n$6\r\nhealth\r\n"
    "$6\r\nonline\r\n*14\r\n$2\r\nid\r\n$40\r\n92e7985b262dc4b2c47a16f8c047f48a0d29da9f\r\n"
    "$4\r\nport\r\n:31106\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n"
    "127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n$18\r\nreplication-offset\r\n:759\r\n$6\r\n"
    "health\r\n$6\r\nonline\r\n*4\r\n$5\r\nslots\r\n*2\r\n:5461\r\n:10922\r\n$5\r\nnodes\r\n"
    "*1\r\n*14\r\n$2\r\nid\r\n$40\r\n5c398ffa9ca0a568eb004e9aaae60502cc605a75\r\n$4\r\n"
    "port\r\n:31105\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n"
    "$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\nreplication-offset\r\n:585\r\n$6\r\nhealth\r\n"
    "$6\r\nonline\r\n*4\r\n$5\r\nslots\r\n*0\r\n$5\r\nnodes\r\n*1\r\n*14\r\n$2\r\nid\r\n"
    "$40\r\nc3edaa2fad775fc285f6c32d2b4a88bc60b498d8\r\n$4\r\nport\r\n:31102\r\n$2\r\nip\r\n"
    "$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
    "$18\r\nreplication-offset\r\n:585\r\n$6\r\nhealth\r\n$4\r\nfail\r\n*4\r\n$5\r\nslots\r\n"
    "*4\r\n:0\r\n:5460\r\n:12706\r\n:12706\r\n$5\r\nnodes\r\n*2\r\n*14\r\n$2\r\nid\r\n$40\r\n"
    "d99b8d2c4b012a27c4defcfa88f1c38965e3585c\r\n$4\r\nport\r\n:31101\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\n"
    "replication-offset\r\n:652\r\n$6\r\nhealth\r\n$6\r\nonline\r\n*14\r\n$2\r\nid\r\n$40\r\n"
    "99468a273d3e254b45b12e1d92c3833d01acea2c\r\n$4\r\nport\r\n:31104\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n$18\r\n"
    "replication-offset\r\n:652\r\n$6\r\nhealth\r\n$4\r\nfail\r\n";

// Another cluster (ports 31001-31006): master 31003 and its replica 31004 both SIGKILLed, the
// cluster is down; 31003 still owns its slots, health "fail".
inline constexpr std::string_view shards_resp3_down =
    "*3\r\n%2\r\n$5\r\nslots\r\n*4\r\n:10923\r\n:12705\r\n:12707\r\n:16383\r\n$5\r\nnodes\r\n"
    "*2\r\n%7\r\n$2\r\nid\r\n$40\r\na8c6121568cfb274da60724e95ed59095850aa2c\r\n$4\r\n"
    "port\r\n:31003\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n"
    "$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\nreplication-offset\r\n:719\r\n$6\r\nhealth\r\n"
    "$4\r\nfail\r\n%7\r\n$2\r\nid\r\n$40\r\n1dd8945859d680cb8593288739b5d5328b318975\r\n"
    "$4\r\nport\r\n:31004\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n"
    "127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n$18\r\nreplication-offset\r\n:719\r\n$6\r\n"
    "health\r\n$4\r\nfail\r\n%2\r\n$5\r\nslots\r\n*4\r\n:0\r\n:5460\r\n:12706\r\n:12706\r\n"
    "$5\r\nnodes\r\n*2\r\n%7\r\n$2\r\nid\r\n$40\r\n"
    "aa050ca4ee2947240c1088a850dc46a00721f07a\r\n$4\r\nport\r\n:31001\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\n"
    "replication-offset\r\n:669\r\n$6\r\nhealth\r\n$6\r\nonline\r\n%7\r\n$2\r\nid\r\n$40\r\n"
    "f481f32e3762247e231e7b0a7d7dbae1eb49d05d\r\n$4\r\nport\r\n:31005\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n$18\r\n"
    "replication-offset\r\n:669\r\n$6\r\nhealth\r\n$6\r\nonline\r\n%2\r\n$5\r\nslots\r\n"
    "*2\r\n:5461\r\n:10922\r\n$5\r\nnodes\r\n*2\r\n%7\r\n$2\r\nid\r\n$40\r\n"
    "6955fa241331cc235fea77518b1cb491a6fd61d9\r\n$4\r\nport\r\n:31006\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\n"
    "replication-offset\r\n:539\r\n$6\r\nhealth\r\n$6\r\nonline\r\n%7\r\n$2\r\nid\r\n$40\r\n"
    "391cf60741a4a2daa238ab4fa29defba2309910e\r\n$4\r\nport\r\n:31002\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n$18\r\n"
    "replication-offset\r\n:539\r\n$6\r\nhealth\r\n$6\r\nonline\r\n";

}  // namespace cluster_replies
