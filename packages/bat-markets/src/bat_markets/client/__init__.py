"""bat-markets live client: ``BatMarkets`` (static or live), watch handles, status types.

```python
from bat_markets.client import BatMarkets

async with BatMarkets.live("binance") as bm:
    ticker = await bm.fetch_ticker("BTC/USDT:USDT")
    async with bm.watch_order_book("BTCUSDT", depth=100) as sub:
        async for book in sub:
            ...
```
"""

from __future__ import annotations

from ._advanced import Advanced
from ._advanced_private import PrivateAdvanced
from ._books import BookView, OrderBookWatch
from ._client import BatMarkets, LiveConnect
from ._commands import Amount
from ._errors import Lagged, StreamClosed, StreamGap
from ._handles import EventWatch, StateWatch, StatusWatch, Watch
from ._options import ClientOptions
from ._pending import LifecycleStream, PendingCommandHandle
from ._status import (
    BookDiagnostics,
    ClockDiagnostics,
    ConnectionDiagnostics,
    Diagnostics,
    Health,
    LaneStatus,
    RateLimitDiagnostics,
    RestDiagnostics,
    Status,
    StatusEvent,
    StreamDiagnostics,
)

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "BatMarkets",
    "LiveConnect",
    "ClientOptions",
    "Advanced",
    "PrivateAdvanced",
    "PendingCommandHandle",
    "LifecycleStream",
    "Amount",
    # handles
    "Watch",
    "StateWatch",
    "EventWatch",
    "StatusWatch",
    "OrderBookWatch",
    "BookView",
    # errors
    "Lagged",
    "StreamClosed",
    "StreamGap",
    # status and diagnostics
    "Health",
    "LaneStatus",
    "Status",
    "StatusEvent",
    "Diagnostics",
    "ClockDiagnostics",
    "RestDiagnostics",
    "RateLimitDiagnostics",
    "ConnectionDiagnostics",
    "StreamDiagnostics",
    "BookDiagnostics",
]
