using System.Text.Json;
using StreamJsonRpc;
using StreamJsonRpc.Protocol;

namespace ModelVis.Rpc;

/// <summary>
/// The requests the host has read and not yet answered, by id: a second request with an id still in use is refused,
/// and <c>$/cancelRequest</c> is applied the moment it is read — to a running handler's token, or, for a request
/// still waiting for its turn, remembered and applied when it starts (it then ends at once, -32800). StreamJsonRpc
/// calls the <see cref="ICancellationStrategy"/> side as it dispatches; the reader calls <see cref="Admit"/> and
/// <see cref="Cancel"/> in input order, so a cancellation can never arrive before its request.
/// </summary>
sealed class InboundRequests : ICancellationStrategy
{
    public const string CancelMethod = "$/cancelRequest";

    sealed class Entry
    {
        public CancellationTokenSource? Source;
        public bool Cancelled;
    }

    readonly Dictionary<RequestId, Entry> _open = [];

    /// <summary>How many requests are read and not yet answered.</summary>
    public int Open { get { lock (_open) return _open.Count; } }

    /// <summary>Records a request as read; false when its id is already in use (the request is refused).</summary>
    public bool Admit(RequestId id)
    {
        lock (_open) return _open.TryAdd(id, new Entry());
    }

    /// <summary>Applies a <c>$/cancelRequest</c> notification; an id not in use (already answered, never sent) is ignored.</summary>
    public void Cancel(JsonRpcRequest notification)
    {
        if (!notification.TryGetArgumentByNameOrIndex("id", -1, typeof(JsonElement), out var value) || value is not JsonElement element) return;
        RequestId id = element.ValueKind switch
        {
            JsonValueKind.Number when element.TryGetInt64(out var n) => new RequestId(n),
            JsonValueKind.String => new RequestId(element.GetString()),
            _ => RequestId.NotSpecified,
        };
        CancellationTokenSource? source;
        lock (_open)
        {
            if (!_open.TryGetValue(id, out var entry)) return;
            entry.Cancelled = true;
            source = entry.Source;
        }
        source?.Cancel();
    }

    void ICancellationStrategy.IncomingRequestStarted(RequestId requestId, CancellationTokenSource cancellationTokenSource)
    {
        bool cancelled;
        lock (_open)
        {
            if (!_open.TryGetValue(requestId, out var entry)) return;
            entry.Source = cancellationTokenSource;
            cancelled = entry.Cancelled;
        }
        if (cancelled) cancellationTokenSource.Cancel();
    }

    void ICancellationStrategy.IncomingRequestEnded(RequestId requestId)
    {
        lock (_open) _open.Remove(requestId);
    }

    // The host sends no requests of its own.
    void ICancellationStrategy.CancelOutboundRequest(RequestId requestId) { }
    void ICancellationStrategy.OutboundRequestEnded(RequestId requestId) { }
}
