-- wrk script: every request names a client of its own in User-Agent, so that no two pull
-- records are identical and the audit log cannot coalesce any (the worst case for the audit
-- writer; decision 017). Keeps the headers given with -H.
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  n = 0
  base = {}
  for name, value in pairs(wrk.headers) do
    base[name] = value
  end
end

function request()
  n = n + 1
  base["User-Agent"] = "bench-client-" .. tid .. "-" .. n
  return wrk.format(nil, nil, base)
end
