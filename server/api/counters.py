"""The teller's actions at a counter. Each is one key on the teller page."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from fastapi import APIRouter, Request

from server.api.deps import Staff, StoreDep, base_url
from server.api.schemas import CallNumberIn, CompleteIn, CounterOut, TicketActionOut, TransferIn
from server.api.views import ticket_out
from server.auth import Principal
from server.models import Counter, Ticket
from server.queue import counters as counter_rules
from server.queue import tickets as ticket_rules
from server.queue.counters import counter_data
from server.queue.tickets import Place
from server.store import Store

router = APIRouter(prefix="/branches/{branch}/counters/{counter}", tags=["counters"])


def _ticket_action(
    store: Store,
    request: Request,
    branch: str,
    counter: str,
    principal: Principal,
    action: Callable[..., Ticket],
    **kwargs: Any,
) -> dict[str, Any]:
    settings = store.branch(branch)
    with store.write() as session:
        ticket = action(
            session=session,
            branch=settings,
            counter=counter,
            username=principal.name,
            now=store.now(),
            **kwargs,
        )
    return {"ticket": ticket_out(ticket, Place(None, None), settings, base_url(request, store))}


def _counter_action(
    store: Store, branch: str, counter: str, principal: Principal, action: Callable[..., Counter]
) -> dict[str, Any]:
    settings = store.branch(branch)
    with store.write() as session:
        row = action(
            session=session,
            branch=settings,
            counter=counter,
            username=principal.name,
            now=store.now(),
        )
        return {"counter": counter_data(session, row)}


# Call-next and complete are the teller's two keys: like issuing, they run on the event
# loop on SQLite (Store.run: no thread hop for a millisecond of work).
@router.post(
    "/call-next",
    responses={204: {"description": "nobody is waiting"}},
    response_model=TicketActionOut,
    response_model_exclude_unset=True,
)
async def call_next(
    branch: str, counter: str, request: Request, store: StoreDep, principal: Staff
) -> Any:
    return await store.run(
        _ticket_action, store, request, branch, counter, principal, ticket_rules.call_next
    )


@router.post("/call", response_model=TicketActionOut, response_model_exclude_unset=True)
def call_number(
    branch: str,
    counter: str,
    body: CallNumberIn,
    request: Request,
    store: StoreDep,
    principal: Staff,
) -> dict[str, Any]:
    return _ticket_action(
        store,
        request,
        branch,
        counter,
        principal,
        ticket_rules.call_number,
        number=body.number,
    )


@router.post("/recall", response_model=TicketActionOut, response_model_exclude_unset=True)
def recall(
    branch: str, counter: str, request: Request, store: StoreDep, principal: Staff
) -> dict[str, Any]:
    return _ticket_action(store, request, branch, counter, principal, ticket_rules.recall)


@router.post("/start", response_model=TicketActionOut, response_model_exclude_unset=True)
def start(
    branch: str, counter: str, request: Request, store: StoreDep, principal: Staff
) -> dict[str, Any]:
    return _ticket_action(store, request, branch, counter, principal, ticket_rules.start_service)


@router.post("/complete", response_model=TicketActionOut, response_model_exclude_unset=True)
async def complete(
    branch: str,
    counter: str,
    request: Request,
    store: StoreDep,
    principal: Staff,
    body: CompleteIn | None = None,
) -> dict[str, Any]:
    action = partial(ticket_rules.complete, rating=body.rating if body else None)
    return await store.run(_ticket_action, store, request, branch, counter, principal, action)


@router.post("/no-show", response_model=TicketActionOut, response_model_exclude_unset=True)
def no_show(
    branch: str, counter: str, request: Request, store: StoreDep, principal: Staff
) -> dict[str, Any]:
    return _ticket_action(store, request, branch, counter, principal, ticket_rules.mark_no_show)


@router.post("/transfer", response_model=TicketActionOut, response_model_exclude_unset=True)
def transfer(
    branch: str, counter: str, body: TransferIn, request: Request, store: StoreDep, principal: Staff
) -> dict[str, Any]:
    return _ticket_action(
        store,
        request,
        branch,
        counter,
        principal,
        ticket_rules.transfer,
        to_service=body.service,
        to_counter=body.counter,
        keep_place=body.keep_place,
    )


@router.post("/open", response_model=CounterOut)
def open_counter(branch: str, counter: str, store: StoreDep, principal: Staff) -> dict[str, Any]:
    return _counter_action(store, branch, counter, principal, counter_rules.open_counter)


@router.post("/pause", response_model=CounterOut)
def pause(branch: str, counter: str, store: StoreDep, principal: Staff) -> dict[str, Any]:
    return _counter_action(store, branch, counter, principal, counter_rules.pause_counter)


@router.post("/resume", response_model=CounterOut)
def resume(branch: str, counter: str, store: StoreDep, principal: Staff) -> dict[str, Any]:
    return _counter_action(store, branch, counter, principal, counter_rules.resume_counter)


@router.post("/close", response_model=CounterOut)
def close(branch: str, counter: str, store: StoreDep, principal: Staff) -> dict[str, Any]:
    return _counter_action(store, branch, counter, principal, counter_rules.close_counter)
