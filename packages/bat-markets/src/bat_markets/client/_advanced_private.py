"""The private and command parts of ``advanced()``: ingest, event taps, classify, reconcile."""

from __future__ import annotations

from bat_markets.core import (
    AccountState,
    CommandKind,
    CommandReceipt,
    ConfigError,
    LifecycleEvent,
    LifecycleStage,
    PrivateData,
    PrivateEvent,
    ReconcileReport,
)

from ._advanced import Advanced
from ._command_lane import lanes_for
from ._handles import EventWatch
from ._params import check_buffer

__all__ = ["PrivateAdvanced"]


class PrivateAdvanced(Advanced):
    """``Advanced`` with the private lane and the command lane wired in."""

    _static_state: AccountState | None = None

    def account_state(self) -> AccountState:
        """The account state: the live one, or an offline one fed by ``ingest_private_json``."""
        rt = self._client._runtime
        if rt is not None and rt.started and not rt.closed:
            return lanes_for(rt)[0].state
        if self._static_state is None:
            self._static_state = AccountState()
        return self._static_state

    def ingest_private_json(self, frame: str | bytes) -> list[PrivateEvent]:
        """Decode one raw private frame and fold it into the account state.

        Returns every decoded event. On a live client the events that changed the state are also
        published to the private watchers, ``subscribe_private_events()`` and pending commands.
        """
        out = self._adapter.decode_private(frame)
        if not isinstance(out, PrivateData):
            return []
        rt = self._client._runtime
        if rt is not None and rt.started and not rt.closed:
            lanes_for(rt)[0].apply_events(out.events)
        else:
            self.account_state().apply_all(out.events)
        return list(out.events)

    def classify_command_json(
        self, kind: CommandKind | str, payload: str | bytes | None
    ) -> list[CommandReceipt]:
        """Classify a raw command answer (``None``: the outcome is unknown).

        On a live client, orders carried by the receipts are folded into the account state and
        each receipt is published to ``subscribe_command_events()`` as a ``RECEIPT`` event.
        """
        receipts = super().classify_command_json(kind, payload)
        rt = self._client._runtime
        if rt is None or not rt.started or rt.closed:
            return receipts
        private, commands = lanes_for(rt)
        now = rt.clock.now_ms()
        events = []
        for i, receipt in enumerate(receipts):
            if receipt.order is not None:
                private.apply_events([receipt.order])
            events.append(
                LifecycleEvent(
                    command_id=f"classified-{now}-{i}",
                    kind=receipt.kind,
                    stage=LifecycleStage.RECEIPT,
                    timestamp=now,
                    receipt=receipt,
                    detail="classify_command_json",
                )
            )
        commands.dispatch(events)
        return receipts

    def subscribe_private_events(self, *, buffer: int | None = None) -> EventWatch[PrivateEvent]:
        """Every private event that changed the account state (stream, REST reads, ingest)."""
        rt = self._client._live("subscribe_private_events")
        return lanes_for(rt)[0].subscribe_events(check_buffer(buffer, 4096, self._adapter.id))

    def subscribe_command_events(  # type: ignore[override]
        self, *, buffer: int | None = None
    ) -> EventWatch[LifecycleEvent]:
        """Every lifecycle event of every command (ack, receipt, order, fill, resolved)."""
        rt = self._client._live("subscribe_command_events")
        return lanes_for(rt)[1].subscribe(check_buffer(buffer, 4096, self._adapter.id))

    async def reconcile(self) -> ReconcileReport:
        """Refresh balances, positions and open orders by REST, then gather evidence for every
        command whose outcome is not final; concurrent calls share one pass."""
        rt = self._client._live("reconcile")
        if rt.credentials is None:
            raise ConfigError("reconcile() needs API credentials", venue=self._adapter.id)
        return await lanes_for(rt)[1].reconcile()
