"""A realistic branch day, driven through the REAL queue use-cases
(server/queue/tickets.py, counters.py) with a simulated clock: every action runs
in its own write transaction at its simulated `now`, so the day leaves the same
events in the database as a real one.

The day: arrivals follow a curve with a morning and a lunch peak; each customer
picks a service (its own service-time distribution) and a priority class; some
give up and cancel, some are away when called (recall, then no-show; a few come
back in the grace period and are called by number), a few are transferred;
tellers sign in around opening, pause for lunch in turns and for a short break,
and close when the queue is empty after the last ticket.

Everything random comes from one `random.Random(seed)`: same seed, same config,
empty day -> the same events.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, select

from server.config import BranchSettings
from server.devices.ratings import LOW_RATING, REASONS, rate_at_counter
from server.errors import LobbyQError, QueueEmpty
from server.models import Counter, CounterState, Role, Ticket, TicketStatus, User
from server.queue import counters as counter_rules
from server.queue import tickets as ticket_rules
from server.stats.compute import DateRange, load_facts, percentile

Write = Callable[[], AbstractContextManager[Session]]

# The demo branch's mix (config.example.toml); other services share what is left.
SERVICE_MIX = {"A": 0.40, "B": 0.30, "C": 0.10, "D": 0.05, "E": 0.15}
PRIORITY_MIX = {"vip": 0.05, "accessibility": 0.03, "appointment": 0.04}
TELLER_NAMES = ["王芳", "赵磊", "孙丽", "周杰", "吴敏", "郑强", "冯雪", "何军", "许静", "曹阳"]
RATINGS = [(5, 0.55), (4, 0.30), (3, 0.10), (2, 0.03), (1, 0.02)]


@dataclass(frozen=True)
class DayPlan:
    """What kind of day to simulate. `volume` scales the arrivals (1.0: about 350
    customers for a branch of 8 counters)."""

    seed: int = 1
    volume: float = 1.0
    opens: time = time(9, 0)
    closes: time = time(17, 0)
    absent_share: float = 0.04  # away when called
    comes_back_share: float = 0.35  # of those away, back within the grace period
    transfer_share: float = 0.02
    rating_share: float = 0.55
    patience_mean_min: float = 100.0  # exponential; a customer leaves after it
    # Share of each service in the arrivals (None: the demo's SERVICE_MIX); the other
    # branch shapes of bench/fixtures bring their own.
    mix: dict[str, float] | None = None
    # A staffing rota (server/plan/check.py): counter -> (opens, stops calling) local
    # times. Only those counters open, at those times, and close once free after the
    # second; no lunch or break of their own (the rota is the breaks). None: every
    # counter opens around opening and pauses in turns.
    rota: dict[str, tuple[time, time]] | None = None


@dataclass
class Customer:
    ticket_id: int
    number: str
    service: str
    absent: bool
    patience_at: datetime
    transfer_to: str | None = None
    returned: bool = False


@dataclass
class Desk:
    """One counter in the simulation and the teller at it."""

    number: str
    services: list[str]
    username: str
    busy: bool = False
    state: str = "closed"
    pause_at: list[tuple[datetime, float]] = field(default_factory=list)  # (from, minutes)
    off_at: datetime | None = None  # a rota's end of duty: closes once free after it
    customer: Customer | None = None
    generation: int = 0  # invalidates scheduled wake-ups


@dataclass
class SimulationResult:
    branch: str
    day: date
    issued: int = 0
    turned_away: int = 0
    served: int = 0
    no_show: int = 0
    cancelled: int = 0
    transferred: int = 0
    reinstated: int = 0
    accuracy: dict[str, Any] = field(default_factory=dict)
    tellers_created: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        acc = self.accuracy
        out = [
            f"simulated {self.day.isoformat()} at branch {self.branch}:",
            f"  issued {self.issued}, served {self.served}, no-show {self.no_show} "
            f"({self.reinstated} reinstated and served), cancelled {self.cancelled}, "
            f"transferred {self.transferred}, turned away {self.turned_away}",
        ]
        if self.tellers_created:
            out.append(f"  created simulated tellers: {', '.join(self.tellers_created)}")
        if acc.get("tickets"):
            out += [
                f"  estimated wait at issue vs actual wait ({acc['tickets']} called tickets):",
                f"    actual wait      median {acc['actual_p50_s']:.0f} s, "
                f"mean {acc['actual_mean_s']:.0f} s",
                f"    absolute error   median {acc['abs_error_p50_s']:.0f} s, "
                f"p90 {acc['abs_error_p90_s']:.0f} s",
                f"    median abs error = {acc['abs_error_p50_pct']:.1f}% of the median actual "
                f"wait (target <= 20%)",
                f"    per ticket |error|/actual (actual >= 5 min): median "
                f"{acc['rel_error_p50_pct']:.1f}%, p90 {acc['rel_error_p90_pct']:.1f}%",
            ]
        return out


def arrival_rate_per_hour(hour: float) -> float:
    """Customers per hour at a local time of day (hours, e.g. 12.5): a base load,
    a morning peak around 10:00, a lunch peak around 12:30, a smaller one at 15:30."""
    return (
        32.0
        + 42.0 * math.exp(-(((hour - 10.0) / 0.8) ** 2))
        + 36.0 * math.exp(-(((hour - 12.5) / 0.6) ** 2))
        + 16.0 * math.exp(-(((hour - 15.5) / 0.9) ** 2))
    )


class Simulation:
    def __init__(
        self,
        *,
        branch: BranchSettings,
        write: Write,
        read: Write,
        day: date,
        plan: DayPlan,
    ) -> None:
        self.branch = branch
        self.write = write
        self.read = read
        self.day = day
        self.plan = plan
        self.rng = random.Random(plan.seed)
        self.zone = branch.zone
        self._queue: list[tuple[datetime, int, str, tuple[Any, ...]]] = []
        self._order = 0
        self.customers: dict[int, Customer] = {}
        self.returned: list[Customer] = []
        self.waiting: dict[int, str] = {}  # ticket id -> service, as the queue has it
        self.desks: list[Desk] = []
        self.result = SimulationResult(branch=branch.code, day=day)
        self.closing = False

    # --- the clock ------------------------------------------------------------------

    def local(self, hhmm: time, minutes: float = 0) -> datetime:
        moment = datetime.combine(self.day, hhmm, tzinfo=self.zone)
        return moment + timedelta(minutes=minutes)

    def at(self, when: datetime, kind: str, *args: Any) -> None:
        self._order += 1
        heapq.heappush(self._queue, (when, self._order, kind, args))

    # --- setting up ------------------------------------------------------------------

    def check_empty_day(self) -> None:
        with self.read() as session:
            existing = session.exec(
                select(Ticket.id).where(
                    Ticket.branch == self.branch.code, Ticket.business_day == self.day
                )
            ).first()
        if existing is not None:
            raise LobbyQError(
                f"branch {self.branch.code} already has tickets on {self.day.isoformat()}: "
                "simulate another date",
                code="day_not_empty",
            )

    def tellers(self, count: int) -> list[str]:
        """Tellers from the user table (the config's), then simulated ones created
        as needed; none that is signed in at a counter now."""
        with self.write() as session:
            users = list(session.exec(select(User).order_by(User.username)))
            busy = {
                c.username
                for c in session.exec(select(Counter).where(Counter.branch == self.branch.code))
                if c.username
            }
            names = [u.username for u in users if u.role == Role.teller and u.active]
            names.sort(key=lambda name: (name.startswith("sim-"), name))  # real names first
            names = [n for n in names if n not in busy]
            taken = {u.username for u in users}
            index = 1
            while len(names) < count:
                username = f"sim-teller{index}"
                index += 1
                if username in taken:
                    continue
                # Not a usable password hash: nobody can sign in as a simulated teller.
                session.add(
                    User(
                        username=username,
                        password_hash="!simulated",
                        role=Role.teller,
                        display_name=TELLER_NAMES[(index - 2) % len(TELLER_NAMES)],
                    )
                )
                names.append(username)
                self.result.tellers_created.append(username)
        return names[:count]

    def plan_counters(self) -> None:
        with self.read() as session:
            rows = list(session.exec(select(Counter).where(Counter.branch == self.branch.code)))
        free = [r for r in rows if r.state == CounterState.closed and r.username is None]
        order = {c.number: i for i, c in enumerate(self.branch.counters)}
        free.sort(key=lambda r: order.get(r.number, 999))
        tellers = self.tellers(len(free))
        lunch_slots = [0, 45, 90, 135]
        rota = self.plan.rota
        for i, (row, username) in enumerate(zip(free, tellers, strict=False)):
            desk = Desk(number=row.number, services=list(row.services), username=username)
            if rota is not None:
                if row.number in rota:
                    self.desks.append(desk)
                    opens_at, off_at = rota[row.number]
                    self.at(self.local(opens_at), "open", desk)
                    desk.off_at = self.local(off_at)
                    self.at(desk.off_at, "try", desk, None)
                continue
            self.desks.append(desk)
            late = i == len(free) - 2 and len(free) >= 4  # one counter opens later
            opens = self.local(self.plan.opens, -5 + self.rng.uniform(0, 8) + (50 if late else 0))
            self.at(opens, "open", desk)
            lunch = self.local(time(11, 30), lunch_slots[i % 4] + self.rng.uniform(0, 10))
            desk.pause_at.append((lunch, self.rng.uniform(30, 45)))
            if self.rng.random() < 0.5:
                brk = self.local(time(15, 0), self.rng.uniform(0, 90))
                desk.pause_at.append((brk, self.rng.uniform(8, 15)))
            for when, _ in desk.pause_at:
                self.at(when, "want_pause", desk)

    def plan_arrivals(self) -> None:
        """A non-homogeneous Poisson process by thinning."""
        opens = self.local(self.plan.opens)
        closes = self.local(self.plan.closes)
        peak = max(arrival_rate_per_hour(h / 4) for h in range(96)) * self.plan.volume
        moment = opens
        while True:
            moment += timedelta(hours=self.rng.expovariate(peak))
            if moment >= closes:
                break
            local = moment.astimezone(self.zone)
            hour = local.hour + local.minute / 60 + local.second / 3600
            if self.rng.random() < arrival_rate_per_hour(hour) * self.plan.volume / peak:
                self.at(moment, "arrive")
        self.at(closes, "last_ticket")

    # --- customers -------------------------------------------------------------------

    def pick_service(self) -> str:
        codes = [s.code for s in self.branch.services]
        mix = self.plan.mix if self.plan.mix is not None else SERVICE_MIX
        weights = [mix.get(c, 0.1 / (i + 1)) for i, c in enumerate(codes)]
        return self.rng.choices(codes, weights)[0]

    def pick_priority(self, service: str) -> str:
        known = {p.code for p in self.branch.all_priorities()}
        if service == "D" and "vip" in known and self.rng.random() < 0.6:
            return "vip"
        roll = self.rng.random()
        for code, share in PRIORITY_MIX.items():
            if code in known and roll < share:
                return code
            roll -= share
        return "normal"

    def service_seconds(self, service: str) -> float:
        """Lognormal around the service's configured service time."""
        settings = self.branch.service(service)
        mean = (settings.service_time_min if settings else 5.0) * 60
        sigma = 0.5
        mu = math.log(mean) - sigma**2 / 2
        return max(45.0, self.rng.lognormvariate(mu, sigma))

    def arrive(self, now: datetime) -> None:
        service = self.pick_service()
        priority = self.pick_priority(service)
        try:
            with self.write() as session:
                issued = ticket_rules.issue_ticket(
                    session=session,
                    branch=self.branch,
                    service=service,
                    priority=priority,
                    now=now,
                    lang=self.rng.choice(["zh", "zh", "zh", "en"]),
                    source="simulator",
                )
                ticket_id, number = issued.ticket.id, issued.ticket.number
        except LobbyQError:
            self.result.turned_away += 1  # closed service, outside hours...
            return
        assert ticket_id is not None
        self.result.issued += 1
        patience = timedelta(minutes=self.rng.expovariate(1 / self.plan.patience_mean_min))
        customer = Customer(
            ticket_id=ticket_id,
            number=number,
            service=service,
            absent=self.rng.random() < self.plan.absent_share,
            patience_at=now + patience,
        )
        others = [s.code for s in self.branch.services if s.code != service]
        if others and self.rng.random() < self.plan.transfer_share:
            customer.transfer_to = self.rng.choice(others)
        self.customers[ticket_id] = customer
        self.waiting[ticket_id] = service
        self.at(customer.patience_at, "patience", customer)
        self.wake_idle(now, service)

    def patience(self, now: datetime, customer: Customer) -> None:
        with self.write() as session:
            ticket = session.get(Ticket, customer.ticket_id)
            if ticket is None or ticket.status != TicketStatus.waiting:
                return
            ticket_rules.cancel_by_customer(
                session=session, branch=self.branch, ticket=ticket, now=now
            )
        self.waiting.pop(customer.ticket_id, None)
        self.result.cancelled += 1

    # --- counters ---------------------------------------------------------------------

    def act(self, action: Callable[..., Any], desk: Desk, now: datetime, **kw: Any) -> Any:
        with self.write() as session:
            return action(
                session=session,
                branch=self.branch,
                counter=desk.number,
                username=desk.username,
                now=now,
                **kw,
            )

    def wake_idle(self, now: datetime, service: str | None = None) -> None:
        for desk in self.desks:
            if desk.state == "open" and not desk.busy and service in (None, *desk.services):
                desk.generation += 1
                reaction = timedelta(seconds=self.rng.uniform(5, 25))
                self.at(now + reaction, "try", desk, desk.generation)

    def open(self, now: datetime, desk: Desk) -> None:
        try:
            self.act(counter_rules.open_counter, desk, now)
        except LobbyQError:
            return  # taken by a real user meanwhile: this desk stays out
        desk.state = "open"
        self.try_call(now, desk)

    def want_pause(self, now: datetime, desk: Desk) -> None:
        if desk.state == "open" and not desk.busy:
            self.pause(now, desk)

    def pause(self, now: datetime, desk: Desk) -> None:
        due = [p for p in desk.pause_at if p[0] <= now]
        if not due:
            return
        desk.pause_at.remove(due[0])
        self.act(counter_rules.pause_counter, desk, now)
        desk.state = "paused"
        desk.generation += 1
        self.at(now + timedelta(minutes=due[0][1]), "resume", desk)

    def resume(self, now: datetime, desk: Desk) -> None:
        if desk.state != "paused":
            return
        self.act(counter_rules.resume_counter, desk, now)
        desk.state = "open"
        self.try_call(now, desk)

    def try_call(self, now: datetime, desk: Desk, generation: int | None = None) -> None:
        if generation is not None and generation != desk.generation:
            return
        if desk.state != "open" or desk.busy:
            return
        if desk.off_at is not None and now >= desk.off_at:
            self.close(now, desk)  # the end of its duty in the rota
            return
        if any(when <= now for when, _ in desk.pause_at):
            self.pause(now, desk)
            return
        back = next((c for c in self.returned if c.service in desk.services), None)
        if back is None and not any(s in desk.services for s in self.waiting.values()):
            if self.closing:  # nothing this desk may call (known without asking)
                self.close(now, desk)
            return
        ticket = None
        if back is not None:
            self.returned.remove(back)
            try:
                ticket = self.act(ticket_rules.call_number, desk, now, number=back.number)
                self.result.reinstated += 1
                self.result.no_show -= 1
            except LobbyQError:
                pass  # back after the grace period: a no-show for good
        try:
            if ticket is None:
                ticket = self.act(ticket_rules.call_next, desk, now)
        except QueueEmpty:
            if self.closing:
                self.close(now, desk)
            return
        self.waiting.pop(ticket.id, None)
        customer = self.customers.get(ticket.id)
        if customer is None:
            return
        desk.busy, desk.customer = True, customer
        if customer.absent and not customer.returned:
            self.at(now + timedelta(seconds=self.rng.uniform(25, 40)), "recall", desk)
        else:
            walk = timedelta(seconds=self.rng.uniform(10, 40))
            self.at(now + walk, "start", desk)

    def recall(self, now: datetime, desk: Desk) -> None:
        self.act(ticket_rules.recall, desk, now)
        self.at(now + timedelta(seconds=self.rng.uniform(25, 40)), "no_show", desk)

    def no_show(self, now: datetime, desk: Desk) -> None:
        self.act(ticket_rules.mark_no_show, desk, now)
        customer = desk.customer
        assert customer is not None
        self.result.no_show += 1
        if self.rng.random() < self.plan.comes_back_share:
            customer.returned = True
            grace = self.branch.no_show_grace_min
            back_in = self.rng.uniform(1, max(1.5, grace * 0.7))
            self.at(now + timedelta(minutes=back_in), "come_back", customer)
        self.free(now, desk)

    def come_back(self, now: datetime, customer: Customer) -> None:
        self.returned.append(customer)
        self.wake_idle(now, customer.service)

    def start(self, now: datetime, desk: Desk) -> None:
        self.act(ticket_rules.start_service, desk, now)
        customer = desk.customer
        assert customer is not None
        seconds = self.service_seconds(customer.service)
        if customer.transfer_to is not None:
            self.at(now + timedelta(seconds=seconds * 0.3), "transfer", desk)
        else:
            self.at(now + timedelta(seconds=seconds), "finish", desk)

    def transfer(self, now: datetime, desk: Desk) -> None:
        customer = desk.customer
        assert customer is not None and customer.transfer_to is not None
        self.act(ticket_rules.transfer, desk, now, to_service=customer.transfer_to)
        customer.service, customer.transfer_to = customer.transfer_to, None
        self.waiting[customer.ticket_id] = customer.service
        self.result.transferred += 1
        self.free(now, desk)
        self.wake_idle(now, customer.service)

    def finish(self, now: datetime, desk: Desk) -> None:
        ticket = self.act(ticket_rules.complete, desk, now)
        if self.branch.ratings_enabled and self.rng.random() < self.plan.rating_share:
            # The customer rates on the counter's pad a few seconds later.
            rating = self.rng.choices([r for r, _ in RATINGS], [w for _, w in RATINGS])[0]
            reasons = [self.rng.choice(REASONS)] if rating <= LOW_RATING else []
            with self.write() as session:
                rate_at_counter(
                    session=session,
                    branch=self.branch,
                    counter=desk.number,
                    number=ticket.number,
                    rating=rating,
                    reasons=reasons,
                    now=now + timedelta(seconds=self.rng.uniform(2, 8)),
                )
        self.result.served += 1
        self.free(now, desk)

    def free(self, now: datetime, desk: Desk) -> None:
        desk.busy, desk.customer = False, None
        desk.generation += 1
        paperwork = timedelta(seconds=self.rng.uniform(5, 30))
        self.at(now + paperwork, "try", desk, desk.generation)

    def close(self, now: datetime, desk: Desk) -> None:
        if desk.state == "closed" or desk.busy:
            return
        if desk.state == "paused":
            self.act(counter_rules.resume_counter, desk, now)
        self.act(counter_rules.close_counter, desk, now)
        desk.state = "closed"

    def last_ticket(self, now: datetime) -> None:
        self.closing = True
        for desk in self.desks:
            desk.pause_at.clear()
            if desk.state == "paused":
                self.resume(now, desk)
        self.wake_idle(now)

    # --- the run ---------------------------------------------------------------------

    def run(self) -> SimulationResult:
        self.check_empty_day()
        self.plan_counters()
        self.plan_arrivals()
        handlers: dict[str, Callable[..., None]] = {
            "arrive": self.arrive,
            "patience": self.patience,
            "open": self.open,
            "want_pause": self.want_pause,
            "resume": self.resume,
            "try": self.try_call,
            "recall": self.recall,
            "no_show": self.no_show,
            "come_back": self.come_back,
            "start": self.start,
            "transfer": self.transfer,
            "finish": self.finish,
            "last_ticket": self.last_ticket,
        }
        while self._queue:
            now, _, kind, args = heapq.heappop(self._queue)
            handlers[kind](now, *args)
        # Whoever is still open (an idle desk that was never woken again) closes.
        end = self.local(self.plan.closes, 60 * 3)
        for desk in self.desks:
            if desk.state != "closed":
                self.close(end, desk)
        self.result.accuracy = self.estimate_accuracy()
        return self.result

    def estimate_accuracy(self) -> dict[str, Any]:
        """The wait promised at issue vs the wait that followed, from the event log."""
        start = self.local(time(0, 0))
        with self.read() as session:
            facts = load_facts(
                session, self.branch, DateRange(start=start, end=start + timedelta(days=1))
            )
        return accuracy_of(
            [
                (float(f.estimated_wait_s), w)
                for f in facts
                if f.estimated_wait_s is not None and (w := f.wait_s) is not None
            ]
        )


def accuracy_of(pairs: list[tuple[float, float]]) -> dict[str, Any]:
    """pairs of (estimate, actual) seconds."""
    if not pairs:
        return {"tickets": 0}
    errors = [abs(e - a) for e, a in pairs]
    actual = [a for _, a in pairs]
    relative = [abs(e - a) / a * 100 for e, a in pairs if a >= 300]
    p50_actual = percentile(actual, 50) or 0.0
    p50_error = percentile(errors, 50) or 0.0
    return {
        "tickets": len(pairs),
        "actual_p50_s": p50_actual,
        "actual_mean_s": sum(actual) / len(actual),
        "abs_error_p50_s": p50_error,
        "abs_error_p90_s": percentile(errors, 90) or 0.0,
        "abs_error_p50_pct": 100 * p50_error / p50_actual if p50_actual else 0.0,
        "rel_error_p50_pct": percentile(relative, 50) or 0.0,
        "rel_error_p90_pct": percentile(relative, 90) or 0.0,
    }


def simulate_day(
    *,
    branch: BranchSettings,
    write: Write,
    read: Write,
    day: date,
    plan: DayPlan | None = None,
) -> SimulationResult:
    """Run one day through the real use-cases; `write` opens one write transaction
    (Database.write, or Store.write to publish events live)."""
    chosen = plan or DayPlan()
    if branch.hours is not None:
        span = branch.hours.span_for(day)
        if span is None:
            raise LobbyQError(f"branch {branch.code} is closed on {day}", code="branch_closed")
        chosen = replace(chosen, opens=span[0], closes=span[1])
    sim = Simulation(branch=branch, write=write, read=read, day=day, plan=chosen)
    return sim.run()
