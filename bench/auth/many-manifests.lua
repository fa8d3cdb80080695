-- wrk script: one client pulling the manifests tagged m1..mN of repository "bench" round-robin
-- (N from MANIFESTS, default 2000; bench/auth/audit-pulls.sh pushes them), like the shared
-- harness's manifest scenario: every pull names another reference and digest. With DIGESTS (a
-- file of their digests, one per line) it pulls by digest instead. Keeps the -H headers.
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  n = tid * 7919
  refs = {}
  local digests = os.getenv("DIGESTS")
  if digests then
    for line in io.lines(digests) do
      refs[#refs + 1] = line
    end
  else
    for i = 1, tonumber(os.getenv("MANIFESTS") or "2000") do
      refs[i] = "m" .. i
    end
  end
end

function request()
  n = n + 1
  return wrk.format(nil, "/v2/bench/manifests/" .. refs[n % #refs + 1])
end
