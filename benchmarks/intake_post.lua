-- wrk script for benchmarks/bench_intake.py: POST the last survey page, each request with its
-- own signed form state (so each is a new response, never a replay of an earlier one).
-- Arguments after "--": body file (urlencoded form without gm_state), states file (one signed
-- gm_state per line), the Cookie header, and the number of wrk threads.
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local function read(path)
  local file = assert(io.open(path, "r"))
  local text = file:read("*a")
  file:close()
  return text
end

function init(args)
  prefix = read(args[1]):gsub("%s+$", "") .. "&gm_state="
  cookie = args[3]
  local count = tonumber(args[4])
  states = {}
  local index = 0
  for line in io.lines(args[2]) do
    -- Thread n takes lines n, n + count, ...: no two threads send the same state.
    if index % count == id then
      table.insert(states, line)
    end
    index = index + 1
  end
  sent = 0
  wrapped = 0
end

function request()
  sent = sent + 1
  local state = states[sent]
  if state == nil then
    wrapped = wrapped + 1 -- out of states: a replay, counted and reported
    state = states[(sent - 1) % #states + 1]
  end
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = cookie,
  }
  return wrk.format("POST", wrk.path, headers, prefix .. state)
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + (thread:get("wrapped") or 0)
  end
  io.write(string.format("replayed states: %d\n", total))
end
