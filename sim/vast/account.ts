// The stand-in's account: instances and their lifecycle (create → scheduling → loading → running;
// stop; start, which fails if the GPU was taken meanwhile; destroy), labels and billing. Time moves
// only through advance(now), so the model is deterministic; the server calls it on every request
// and on a short interval. Phase changes are reported to a listener (the process launcher).
import type { CreateInstanceRequest, VastInstance } from "../../core/vast-api.ts";
import type { SimOffer } from "./catalogue.ts";
import type { Faults } from "./options.ts";

export type SimPhase = "scheduling" | "loading" | "running" | "starting" | "stopping" | "stopped" | "exited" | "offline";

export interface SimInstance {
  id: number;
  label: string | null;
  offer: SimOffer;
  request: CreateInstanceRequest | null;
  intended: "running" | "stopped";
  phase: SimPhase;
  /** ms when the current timed phase ends (null: it does not end by itself). */
  phaseUntil: number | null;
  stuck: boolean;
  createdAt: number;
  /** Container port → host port, once running. */
  ports: Record<string, number>;
  statusMsg: string;
  /** $ accrued so far, up to costAt. */
  cost: number;
  costAt: number;
}

/** Storage of a stopped instance: $0.10 per GB-month, as an hourly rate. */
const STORAGE_DPH_PER_GB = 0.1 / 730;

export type PhaseListener = (inst: SimInstance, previous: SimPhase | "destroyed" | null, next: SimPhase | "destroyed") => void;

export type Outcome<T = void> = { ok: true; value: T } | { ok: false; status: number; error: string; msg: string };

const fail = (status: number, error: string, msg: string): Outcome<never> => ({ ok: false, status, error, msg });

export class VastAccount {
  readonly instances = new Map<number, SimInstance>();
  private occupant = new Map<number, number>();
  private nextId = 9_000_001;
  private closedCost = 0;

  constructor(
    readonly offers: SimOffer[],
    private faults: () => Faults,
    private random: () => number,
    private listener: PhaseListener = () => {},
  ) {}

  /** Offers on the market now (slots not held by a running, loading or stopping instance). */
  market(): SimOffer[] {
    return this.offers.filter((o) => !this.occupant.has(o.id)).map((o) => ({ ...o, rented: false }));
  }

  create(offerId: number, req: CreateInstanceRequest, now: number): Outcome<SimInstance> {
    const offer = this.offers.find((o) => o.id === offerId);
    if (!offer) return fail(404, "no_such_ask", `offer ${offerId} does not exist`);
    if (this.occupant.has(offerId)) return fail(410, "no_such_ask", `offer ${offerId} is no longer available`);
    const f = this.faults();
    const inst: SimInstance = {
      id: this.nextId++,
      label: req.label,
      offer,
      request: req,
      intended: "running",
      phase: "scheduling",
      phaseUntil: now + f.scheduleMs,
      stuck: this.random() < f.stuckRate,
      createdAt: now,
      ports: {},
      statusMsg: "scheduling",
      cost: 0,
      costAt: now,
    };
    this.instances.set(inst.id, inst);
    this.occupant.set(offerId, inst.id);
    this.listener(inst, null, inst.phase);
    return { ok: true, value: inst };
  }

  setState(id: number, state: "running" | "stopped", now: number): Outcome {
    const inst = this.instances.get(id);
    if (!inst) return fail(404, "no_such_instance", `instance ${id} does not exist`);
    this.accrue(inst, now);
    if (state === "stopped") {
      inst.intended = "stopped";
      if (inst.phase === "stopped" || inst.phase === "stopping") return { ok: true, value: undefined };
      this.move(inst, "stopping", now + this.faults().stopMs, "stopping");
      return { ok: true, value: undefined };
    }
    if (inst.phase !== "stopped" && inst.phase !== "stopping") {
      inst.intended = "running";
      return { ok: true, value: undefined };
    }
    const holder = this.occupant.get(inst.offer.id);
    if ((holder !== undefined && holder !== id) || this.random() < this.faults().startFailRate) {
      return fail(200, "resources_unavailable", "the GPU of this machine was rented by someone else while the instance was stopped");
    }
    inst.intended = "running";
    this.occupant.set(inst.offer.id, id);
    this.move(inst, "starting", now + this.faults().startMs, "starting");
    return { ok: true, value: undefined };
  }

  setLabel(id: number, label: string): Outcome {
    const inst = this.instances.get(id);
    if (!inst) return fail(404, "no_such_instance", `instance ${id} does not exist`);
    inst.label = label;
    return { ok: true, value: undefined };
  }

  destroy(id: number, now: number): Outcome {
    const inst = this.instances.get(id);
    if (!inst) return fail(404, "no_such_instance", `instance ${id} does not exist`);
    this.accrue(inst, now);
    this.closedCost += inst.cost;
    this.instances.delete(id);
    if (this.occupant.get(inst.offer.id) === id) this.occupant.delete(inst.offer.id);
    const previous = inst.phase;
    this.listener(inst, previous, "destroyed");
    return { ok: true, value: undefined };
  }

  /** The container died (a crash, or a test saying so): Vast reports exited/offline. */
  fail(id: number, status: "exited" | "offline", msg: string, now: number): Outcome {
    const inst = this.instances.get(id);
    if (!inst) return fail(404, "no_such_instance", `instance ${id} does not exist`);
    this.accrue(inst, now);
    this.move(inst, status, null, msg);
    return { ok: true, value: undefined };
  }

  /** Adds instances directly (benchmarks, canned states): already past their lifecycle. */
  seed(list: { label: string | null; gpu_name: string; dph_total: number; phase: "running" | "stopped" | "loading" }[], now: number): number[] {
    return list.map((s) => {
      const offer: SimOffer = { ...(this.offers[0] as SimOffer), id: 0, gpu_name: s.gpu_name, dph_total: s.dph_total };
      const inst: SimInstance = {
        id: this.nextId++,
        label: s.label,
        offer,
        request: null,
        intended: s.phase === "stopped" ? "stopped" : "running",
        phase: s.phase,
        phaseUntil: null,
        stuck: false,
        createdAt: now,
        ports: {},
        statusMsg: s.phase,
        cost: 0,
        costAt: now,
      };
      this.instances.set(inst.id, inst);
      return inst.id;
    });
  }

  /** Moves time forward: timed phases end, billing accrues. */
  advance(now: number): void {
    for (const inst of this.instances.values()) {
      this.accrue(inst, now);
      // Loop: a long pause may carry an instance through several phases at once.
      while (inst.phaseUntil !== null && now >= inst.phaseUntil) {
        const at = inst.phaseUntil;
        if (inst.phase === "scheduling") this.move(inst, "loading", inst.stuck ? null : at + this.faults().loadMs, inst.stuck ? "pulling image (stalled)" : "pulling image");
        else if (inst.phase === "loading" || inst.phase === "starting") this.move(inst, "running", null, "running");
        else if (inst.phase === "stopping") {
          if (this.occupant.get(inst.offer.id) === inst.id) this.occupant.delete(inst.offer.id);
          this.move(inst, "stopped", null, "stopped");
        } else inst.phaseUntil = null;
      }
    }
  }

  /** $/h being paid for the instance now. */
  rate(inst: SimInstance): number {
    if (inst.phase === "stopped") return (inst.request?.disk ?? 32) * STORAGE_DPH_PER_GB;
    return inst.offer.dph_total;
  }

  billing(now: number): { total_usd: number; current_dph: number; gpu_billed_instances: number } {
    let total = this.closedCost;
    let dph = 0;
    let billed = 0;
    for (const inst of this.instances.values()) {
      this.accrue(inst, now);
      total += inst.cost;
      dph += this.rate(inst);
      if (inst.phase !== "stopped") billed++;
    }
    return { total_usd: total, current_dph: dph, gpu_billed_instances: billed };
  }

  /** Destroys everything and clears the market (tests start from a clean account). */
  reset(): void {
    for (const id of [...this.instances.keys()]) this.destroy(id, Date.now());
    this.occupant.clear();
    this.closedCost = 0;
  }

  private accrue(inst: SimInstance, now: number): void {
    if (now > inst.costAt) {
      inst.cost += (this.rate(inst) * (now - inst.costAt)) / 3_600_000;
      inst.costAt = now;
    }
  }

  private move(inst: SimInstance, next: SimPhase, until: number | null, msg: string): void {
    const previous = inst.phase;
    inst.phase = next;
    inst.phaseUntil = until;
    inst.statusMsg = msg;
    if (previous !== next) this.listener(inst, previous, next);
  }
}

const ACTUAL: Record<SimPhase, string | null> = {
  scheduling: null,
  loading: "loading",
  starting: "loading",
  running: "running",
  stopping: "running",
  stopped: "stopped",
  exited: "exited",
  offline: "offline",
};

/** An instance the way Vast's list shows it (with extra_env, which holds the injected secrets). */
export function instanceAnswer(inst: SimInstance): VastInstance & Record<string, unknown> {
  const ports: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const [container, host] of Object.entries(inst.ports)) ports[`${container}/tcp`] = [{ HostIp: "0.0.0.0", HostPort: String(host) }];
  return {
    id: inst.id,
    label: inst.label,
    actual_status: ACTUAL[inst.phase],
    intended_status: inst.intended,
    cur_state: inst.phase === "stopped" ? "stopped" : "running",
    status_msg: inst.statusMsg,
    public_ipaddr: "127.0.0.1",
    ports,
    gpu_name: inst.offer.gpu_name,
    num_gpus: inst.offer.num_gpus,
    gpu_ram: inst.offer.gpu_ram,
    dph_total: inst.offer.dph_total,
    start_date: inst.createdAt / 1000,
    machine_id: inst.offer.machine_id,
    disk_space: inst.request?.disk ?? 32,
    image_uuid: inst.request?.image ?? null,
    template_hash_id: inst.request?.template_hash_id ?? null,
    extra_env: Object.entries(inst.request?.env ?? {}).filter(([k]) => !k.startsWith("-")),
  };
}
