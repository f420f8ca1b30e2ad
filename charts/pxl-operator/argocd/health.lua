-- Argo CD health check for pxl.logos.dev/PXLProver (Lua 5.1, as Argo CD runs it).
--
-- Healthy     the operator has seen the current spec and reports Ready=True.
-- Degraded    the operator reports Degraded=True (for example reason RolledBack after a
--             kernel rollout stalled and was undone, or an invalid spec).
-- Progressing everything else: no status yet, a spec the operator has not observed yet,
--             a rollout in flight, pods not ready yet.
-- A status older than the spec is never trusted, so a fixed spec leaves Degraded at once.

local hs = {}

local function find_condition(conditions, condition_type)
  if conditions == nil then
    return nil
  end
  for _, condition in ipairs(conditions) do
    if condition.type == condition_type then
      return condition
    end
  end
  return nil
end

local function describe(condition, fallback)
  local parts = {}
  if condition.reason ~= nil and condition.reason ~= "" then
    table.insert(parts, condition.reason)
  end
  if condition.message ~= nil and condition.message ~= "" then
    table.insert(parts, condition.message)
  end
  if #parts == 0 then
    return fallback
  end
  return table.concat(parts, ": ")
end

local status = obj.status
local generation = obj.metadata and obj.metadata.generation

if status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the PXL operator to observe this PXLProver"
  return hs
end

local observed = status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  hs.message = string.format(
    "Waiting for the PXL operator to observe generation %d (observed: %s)",
    generation, tostring(observed or "none"))
  return hs
end

-- Degraded outranks Progressing: after a rollback the old pods may still be Ready.
local reported = {
  {condition = "Degraded", fallback = "The PXL operator reports Degraded"},
  {condition = "Progressing", fallback = "Rollout in progress"},
}
for _, state in ipairs(reported) do
  local found = find_condition(status.conditions, state.condition)
  if found ~= nil and found.status == "True" then
    hs.status = state.condition
    hs.message = describe(found, state.fallback)
    return hs
  end
end

local ready = find_condition(status.conditions, "Ready")
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  local replicas = ""
  if status.readyReplicas ~= nil then
    replicas = string.format("%d/%d replicas ready", status.readyReplicas,
      status.replicas or status.readyReplicas)
  end
  if status.kernelHash ~= nil and status.kernelHash ~= "" then
    if replicas ~= "" then
      replicas = replicas .. ", "
    end
    replicas = replicas .. "kernel " .. string.sub(status.kernelHash, 1, 12)
  end
  if replicas == "" then
    hs.message = describe(ready, "Ready")
  else
    hs.message = replicas
  end
  return hs
end

hs.status = "Progressing"
if ready ~= nil then
  hs.message = describe(ready, "Waiting for prover pods to become ready")
else
  hs.message = "Waiting for prover pods to become ready"
end
return hs
