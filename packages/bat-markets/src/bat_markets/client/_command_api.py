"""Commands (``create_order``... ``set_position_mode``) and websocket-only commands.

Not implemented in this release: each method raises ``Unsupported``. The signatures are the API
map's; amounts and prices are accepted as ``str``/``int``/``Decimal`` (``_params.to_decimal``
refuses floats). A future command lane runs adapter command flows through
``Runtime.rest.run(flow, signed=True)`` (which throws transport failures into the flow so it can
report UNKNOWN receipts) and returns pending-command handles.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from bat_markets.core import CommandReceipt

from ._base import ClientBase, not_implemented

__all__ = ["CommandMixin", "Amount"]

Amount = str | int | Decimal
"""A price or quantity as the user may pass it (never a float)."""


class CommandMixin(ClientBase):
    """Order entry and account settings (credentials required)."""

    async def create_order(
        self,
        symbol: str,
        side: str,
        type: str,
        amount: Amount | None,
        price: Amount | None = None,
        **params: Any,
    ) -> Any:
        raise not_implemented(self._adapter.id, "create_order")

    async def create_orders(self, orders: Sequence[dict[str, Any]]) -> list[Any]:
        raise not_implemented(self._adapter.id, "create_orders")

    async def edit_order(
        self,
        id: str | None,
        symbol: str,
        *,
        amount: Amount | None = None,
        price: Amount | None = None,
        **params: Any,
    ) -> Any:
        raise not_implemented(self._adapter.id, "edit_order")

    async def edit_orders(self, edits: Sequence[dict[str, Any]]) -> list[Any]:
        raise not_implemented(self._adapter.id, "edit_orders")

    async def cancel_order(
        self, id: str | None, symbol: str, *, client_order_id: str | None = None
    ) -> Any:
        raise not_implemented(self._adapter.id, "cancel_order")

    async def cancel_orders(self, cancels: Sequence[dict[str, Any]]) -> list[Any]:
        raise not_implemented(self._adapter.id, "cancel_orders")

    async def cancel_all_orders(self, symbol: str | None = None) -> Any:
        raise not_implemented(self._adapter.id, "cancel_all_orders")

    async def close_position(self, symbol: str, **params: Any) -> Any:
        raise not_implemented(self._adapter.id, "close_position")

    async def validate_order(
        self,
        symbol: str,
        side: str,
        type: str,
        amount: Amount | None,
        price: Amount | None = None,
        **params: Any,
    ) -> CommandReceipt:
        raise not_implemented(self._adapter.id, "validate_order")

    async def set_leverage(self, symbol: str, leverage: Amount) -> Any:
        raise not_implemented(self._adapter.id, "set_leverage")

    async def set_margin_mode(self, margin_mode: str, symbol: str | None = None) -> Any:
        raise not_implemented(self._adapter.id, "set_margin_mode")

    async def set_position_mode(self, position_mode: str, symbol: str | None = None) -> Any:
        raise not_implemented(self._adapter.id, "set_position_mode")

    # -- websocket-only commands (never fall back to REST)
    async def create_order_ws(
        self,
        symbol: str,
        side: str,
        type: str,
        amount: Amount | None,
        price: Amount | None = None,
        **params: Any,
    ) -> Any:
        raise not_implemented(self._adapter.id, "create_order_ws")

    async def create_orders_ws(self, orders: Sequence[dict[str, Any]]) -> list[Any]:
        raise not_implemented(self._adapter.id, "create_orders_ws")

    async def edit_order_ws(
        self,
        id: str | None,
        symbol: str,
        *,
        amount: Amount | None = None,
        price: Amount | None = None,
        **params: Any,
    ) -> Any:
        raise not_implemented(self._adapter.id, "edit_order_ws")

    async def edit_orders_ws(self, edits: Sequence[dict[str, Any]]) -> list[Any]:
        raise not_implemented(self._adapter.id, "edit_orders_ws")

    async def cancel_order_ws(
        self, id: str | None, symbol: str, *, client_order_id: str | None = None
    ) -> Any:
        raise not_implemented(self._adapter.id, "cancel_order_ws")

    async def cancel_orders_ws(self, cancels: Sequence[dict[str, Any]]) -> list[Any]:
        raise not_implemented(self._adapter.id, "cancel_orders_ws")

    async def cancel_all_orders_ws(self, symbol: str | None = None) -> Any:
        raise not_implemented(self._adapter.id, "cancel_all_orders_ws")
