-- wrk script: one client pulling the manifests tagged m1..mN of repository "bench" round-robin
-- (N from MANIFESTS, default 2000; bench/auth/audit-pulls.sh pushes them), like the shared
-- harness's manifest scenario: every pull names another reference and digest. Keeps -H headers.
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  n = tid * 7919
  count = tonumber(os.getenv("MANIFESTS") or "2000")
end

function request()
  n = n + 1
  return wrk.format(nil, "/v2/bench/manifests/m" .. (n % count + 1))
end
