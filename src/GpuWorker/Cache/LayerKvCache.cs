using StarKv.Compression.Api;
using TorchSharp;

namespace StarKv.GpuWorker.Cache;

/// <summary>
/// One decoder layer's KV cache. Keys (after rotary embedding) and values are stored for the G KV heads only,
/// never expanded to the query heads: <c>Keys</c>, <c>Values</c> are <c>[G, N, D]</c>.
/// <para>
/// Storage: one preallocated tensor each for keys and values, <c>[G, Capacity, D]</c>, of which the first
/// <see cref="Count"/> entries of every head are valid (<see cref="KeyStorage"/>, <see cref="ValueStorage"/>);
/// <see cref="Keys"/> and <see cref="Values"/> are views of that prefix. An append writes in place after the
/// stored entries; when it does not fit, the storage is reallocated to the size a caller reserved
/// (<see cref="Reserve"/>, exact) or, for an unreserved append, to one and a half times its capacity, and the
/// stored entries are copied once. A <see cref="Gather"/> copies the kept entries into new compact storage
/// (kept count plus the headroom the caller had reserved beyond the stored entries). <see cref="Bytes"/> are the
/// bytes of the storage held, capacity included; <see cref="StoredBytes"/> those of the valid entries.
/// </para>
/// <para>
/// Invariant: an entry below <see cref="Count"/> is never written in place; storage is replaced, not rewritten.
/// A checkpoint may therefore hold views of the stored entries (<see cref="CaptureFull"/>, <see cref="CaptureStep"/>)
/// and serialise them later while the session takes its next steps.
/// </para>
/// <para>
/// Steps: <see cref="BeginStep"/> remembers the committed count, seen count and bookkeeping; <see cref="Rollback"/>
/// returns to them without having copied the cache (appends went after the committed entries, and a gather keeps the
/// storage it replaced until <see cref="Commit"/>); <see cref="Commit"/> frees that storage and remembers what the
/// step changed, for a checkpoint delta (<see cref="CaptureStep"/>).
/// </para>
/// <para>
/// Layout under per-head selection: every head holds the same number N of entries (a <see cref="Gather"/>
/// takes a <c>[G, K]</c> selection), but entry j of head g may be a different token than entry j of head g'.
/// <see cref="Tokens"/> therefore describes each head separately: <c>Tokens[g][j]</c> is entry j of head g.
/// Attention stays exact for every head because the rotary position is baked into each stored key, so a
/// query sees each kept entry at its original position whatever its slot. Entries are kept in the order they
/// were appended within each head, so the newest turn is always the cache's tail, identical for every head.
/// </para>
/// <para>
/// <see cref="SeenTokens"/> counts every token ever appended; <see cref="Count"/> counts the entries stored now.
/// Autograd: appends copy into the storage (<c>copy_</c> of a slice), so keys that require gradients (a trainer's
/// prefix) stay in the graph; nothing an earlier attention saved for backward is overwritten, since appends only
/// write after the stored entries.
/// </para>
/// <para>The cache owns its tensors: they are detached from any dispose scope, and freed by <see cref="Dispose"/>.</para>
/// </summary>
public sealed class LayerKvCache : IDisposable
{
    private torch.Tensor _keyStorage;
    private torch.Tensor _valueStorage;
    private torch.Tensor _keys;
    private torch.Tensor _values;
    private List<TokenInfo>[] _tokens;
    private long _count;
    private StepMark? _step;
    private LayerStepChange? _lastChange;

    public LayerKvCache(int kvHeads, int headDim, torch.Device device, torch.ScalarType dtype)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kvHeads);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(headDim);
        ArgumentNullException.ThrowIfNull(device);
        KvHeads = kvHeads;
        HeadDim = headDim;
        Device = device;
        DType = dtype;
        _keyStorage = NewStorage(0); // [G, 0, D]
        _valueStorage = NewStorage(0); // [G, 0, D]
        _keys = _keyStorage.alias().DetachFromDisposeScope(); // [G, 0, D]
        _values = _valueStorage.alias().DetachFromDisposeScope(); // [G, 0, D]
        _tokens = NewTokenLists(kvHeads, 0);
    }

    public int KvHeads { get; }

    public int HeadDim { get; }

    public torch.Device Device { get; }

    public torch.ScalarType DType { get; }

    /// <summary>
    /// Stored keys after rotary embedding: a view of the first <see cref="Count"/> entries of <see cref="KeyStorage"/>,
    /// owned by the cache (do not dispose; a new view replaces it whenever the cache changes). // [G, N, D]
    /// </summary>
    public torch.Tensor Keys => _keys;

    /// <summary>Stored values, a view like <see cref="Keys"/>. // [G, N, D]</summary>
    public torch.Tensor Values => _values;

    /// <summary>The key storage, entries <c>[0, Count)</c> of every head valid (for callers that batch caches). // [G, Capacity, D]</summary>
    public torch.Tensor KeyStorage => _keyStorage;

    /// <summary>The value storage. // [G, Capacity, D]</summary>
    public torch.Tensor ValueStorage => _valueStorage;

    /// <summary>Bookkeeping of every stored entry per KV head, in storage order. // [G][N]</summary>
    public IReadOnlyList<IReadOnlyList<TokenInfo>> Tokens => _tokens;

    /// <summary>Entries stored now per head (N).</summary>
    public long Count => _count;

    /// <summary>Entries per head the storage holds room for.</summary>
    public long Capacity => _keyStorage.shape[1];

    /// <summary>Every token ever appended to this layer, kept or evicted.</summary>
    public long SeenTokens { get; private set; }

    /// <summary>Bytes of key and value storage held, capacity included (plus, during a step, the storage a gather replaced).</summary>
    public long Bytes => StorageBytes(Capacity) + (_step?.Replaced is { } replaced ? StorageBytes(replaced.Keys.shape[1]) : 0);

    /// <summary>Bytes of the stored entries' keys and values.</summary>
    public long StoredBytes => StorageBytes(_count);

    /// <summary>Whether a step is open (<see cref="BeginStep"/> without <see cref="Commit"/> or <see cref="Rollback"/>).</summary>
    public bool InStep => _step is not null;

    /// <summary>
    /// Makes room for <paramref name="entries"/> entries per head (stored ones included), reallocating to exactly
    /// that capacity if the storage is smaller. Appends up to that count then write in place.
    /// </summary>
    public void Reserve(long entries)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(entries);
        if (entries > Capacity)
        {
            Reallocate(entries);
        }
    }

    /// <summary>
    /// Appends a turn's entries to the tail of every head, written in place into the storage (converted to the
    /// cache's dtype and device); the caller keeps ownership of its arguments.
    /// </summary>
    /// <param name="keys">Keys after rotary embedding. // [G, T, D]</param>
    /// <param name="values">Values. // [G, T, D]</param>
    /// <param name="tokens">The T entries' bookkeeping, the same for every head.</param>
    public void Append(torch.Tensor keys, torch.Tensor values, IReadOnlyList<TokenInfo> tokens)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(tokens);
        CheckShape(keys, nameof(keys));
        CheckShape(values, nameof(values));
        var turn = keys.shape[1];
        if (values.shape[1] != turn)
        {
            throw new ArgumentException($"keys hold {turn} entries but values hold {values.shape[1]}.", nameof(values));
        }

        if (tokens.Count != turn)
        {
            throw new ArgumentException($"{tokens.Count} bookkeeping entries given for {turn} appended keys.", nameof(tokens));
        }

        if (_count + turn > Capacity)
        {
            Reallocate(Math.Max(_count + turn, Capacity + (Capacity / 2)));
        }

        using (var keySlot = _keyStorage.narrow(1, _count, turn)) // [G, T, D]
        {
            keySlot.copy_(keys);
        }

        using (var valueSlot = _valueStorage.narrow(1, _count, turn)) // [G, T, D]
        {
            valueSlot.copy_(values);
        }

        foreach (var list in _tokens)
        {
            list.AddRange(tokens);
        }

        _count += turn;
        SeenTokens += turn;
        RefreshViews();
    }

    /// <summary>
    /// Keeps, per KV head, the entries named by <paramref name="indices"/> (in the given order; compressors pass
    /// them sorted): they are copied into new compact storage of K entries plus the headroom that was reserved beyond
    /// the stored entries, and the old storage is freed (or, during a step, kept until it commits, for a rollback).
    /// <see cref="SeenTokens"/> does not change.
    /// </summary>
    /// <param name="indices">Entry indices per head, every head the same count K. // [G, K] int64</param>
    public void Gather(torch.Tensor indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        if (indices.dim() != 2 || indices.shape[0] != KvHeads)
        {
            throw new ArgumentException($"A selection must be [G={KvHeads}, K]; got [{string.Join(", ", indices.shape)}].", nameof(indices));
        }

        if (indices.dtype != torch.ScalarType.Int64)
        {
            throw new ArgumentException($"A selection must hold int64 indices; got {indices.dtype}.", nameof(indices));
        }

        var kept = indices.shape[1];
        var count = _count;
        using var hostIndices = indices.cpu(); // [G, K]
        var flat = hostIndices.data<long>().ToArray();
        for (var i = 0; i < flat.Length; i++)
        {
            if (flat[i] < 0 || flat[i] >= count)
            {
                throw new ArgumentOutOfRangeException(nameof(indices), flat[i], $"Selection index for head {i / kept} lies outside the {count} stored entries.");
            }
        }

        var headroom = Capacity - count;
        torch.Tensor keyStorage, valueStorage;
        using (var scope = torch.NewDisposeScope())
        {
            using var onDevice = indices.to(Device); // [G, K]
            var expanded = onDevice.unsqueeze(-1).expand(KvHeads, kept, HeadDim); // [G, K, D]
            keyStorage = NewStorage(kept + headroom); // [G, K + headroom, D]
            valueStorage = NewStorage(kept + headroom); // [G, K + headroom, D]
            keyStorage.narrow(1, 0, kept).copy_(_keys.gather(1, expanded));
            valueStorage.narrow(1, 0, kept).copy_(_values.gather(1, expanded));
        }

        var tokens = NewTokenLists(KvHeads, (int)kept);
        for (var g = 0; g < KvHeads; g++)
        {
            var source = _tokens[g];
            var target = tokens[g];
            for (var j = 0; j < kept; j++)
            {
                target.Add(source[(int)flat[(g * kept) + j]]);
            }
        }

        if (_step is { Replaced: null } step)
        {
            // The first gather of a step keeps the storage it replaces (and the bookkeeping lists the step began with)
            // until the step commits, so a rollback needs no copy.
            step.Replaced = new ReplacedStorage(_keyStorage, _valueStorage);
            step.Selection = flat;
            step.Gathers++;
        }
        else
        {
            if (_step is { } later)
            {
                later.Gathers++;
            }

            _keyStorage.Dispose();
            _valueStorage.Dispose();
        }

        _keyStorage = keyStorage;
        _valueStorage = valueStorage;
        _tokens = tokens;
        _count = kept;
        RefreshViews();
    }

    /// <summary>Opens a step: what <see cref="Rollback"/> returns to (the change of the previous step included).</summary>
    public void BeginStep()
    {
        if (_step is not null)
        {
            throw new InvalidOperationException("A step is already open on this cache layer; commit or roll it back first.");
        }

        _step = new StepMark(_count, SeenTokens, _tokens) { PreviousChange = _lastChange };
        _lastChange = null;
    }

    /// <summary>Closes the step: frees the storage a gather replaced and remembers what the step changed.</summary>
    public void Commit()
    {
        var step = _step ?? throw new InvalidOperationException("No step is open on this cache layer.");
        _lastChange = Describe(step);
        step.Replaced?.Dispose();
        _step = null;
    }

    /// <summary>
    /// Returns the layer to where <see cref="BeginStep"/> found it: the same entries (bit for bit), bookkeeping and seen
    /// count. The capacity may have grown (the committed entries were copied into larger storage).
    /// </summary>
    public void Rollback()
    {
        var step = _step ?? throw new InvalidOperationException("No step is open on this cache layer.");
        if (step.Replaced is { } replaced)
        {
            _keyStorage.Dispose();
            _valueStorage.Dispose();
            _keyStorage = replaced.Keys;
            _valueStorage = replaced.Values;
        }

        _tokens = step.Tokens;
        foreach (var list in _tokens)
        {
            list.RemoveRange((int)step.Count, list.Count - (int)step.Count);
        }

        _count = step.Count;
        SeenTokens = step.Seen;
        _step = null;
        _lastChange = step.PreviousChange;
        RefreshViews();
    }

    /// <summary>
    /// The whole layer for a checkpoint, without copying the entries: views of the stored entries (valid however the
    /// cache changes later, see the class remarks) and a copy of the bookkeeping. The caller disposes the result.
    /// </summary>
    public LayerKvSnapshot CaptureFull()
    {
        if (_step is not null)
        {
            throw new InvalidOperationException("A checkpoint is taken between steps, not while one is open.");
        }

        return new LayerKvSnapshot(_keys.alias().DetachFromDisposeScope(), _values.alias().DetachFromDisposeScope(), CopyTokens(), SeenTokens);
    }

    /// <summary>
    /// What the last committed step changed, for a checkpoint delta (views of the new entries, as
    /// <see cref="CaptureFull"/>), or null when the layer cannot describe it as a delta (no step committed since the
    /// last <see cref="BeginStep"/>, or a step that gathered twice or kept an order a delta cannot express).
    /// </summary>
    public LayerKvDelta? CaptureStep()
    {
        if (_step is not null || _lastChange is not { } change)
        {
            return null;
        }

        var keys = new torch.Tensor[KvHeads];
        var values = new torch.Tensor[KvHeads];
        var newTokens = new IReadOnlyList<TokenInfo>[KvHeads];
        using var scope = torch.NewDisposeScope();
        for (var g = 0; g < KvHeads; g++)
        {
            var start = change.NewStart[g];
            keys[g] = _keyStorage[g].narrow(0, start, _count - start).DetachFromDisposeScope(); // [n_g, D]
            values[g] = _valueStorage[g].narrow(0, start, _count - start).DetachFromDisposeScope(); // [n_g, D]
            newTokens[g] = _tokens[g].GetRange((int)start, (int)(_count - start)).ToArray();
        }

        return new LayerKvDelta(change.BaseCount, change.KeptOld, keys, values, newTokens, SeenTokens);
    }

    /// <summary>Applies a checkpoint delta taken by <see cref="CaptureStep"/> on a layer that holds the delta's base.</summary>
    /// <exception cref="ArgumentException">The layer does not hold the delta's base, or the delta is malformed.</exception>
    public void Apply(LayerKvDelta delta)
    {
        ArgumentNullException.ThrowIfNull(delta);
        if (_step is not null)
        {
            throw new InvalidOperationException("A delta is applied between steps, not while one is open.");
        }

        if (delta.BaseCount != _count)
        {
            throw new ArgumentException($"The delta continues a layer of {delta.BaseCount} entries; this layer holds {_count}.", nameof(delta));
        }

        if (delta.NewKeys.Count != KvHeads || delta.NewValues.Count != KvHeads || delta.NewTokens.Count != KvHeads || (delta.KeptOld is { } k && k.Count != KvHeads))
        {
            throw new ArgumentException($"The delta must describe each of the layer's {KvHeads} heads.", nameof(delta));
        }

        var final = delta.Count;
        if (delta.SeenTokens < final || delta.SeenTokens < SeenTokens)
        {
            throw new ArgumentException($"The delta has seen {delta.SeenTokens} tokens, fewer than it stores ({final}) or than the layer had seen ({SeenTokens}).", nameof(delta));
        }

        var keyStorage = NewStorage(final); // [G, N', D]
        var valueStorage = NewStorage(final); // [G, N', D]
        var tokens = NewTokenLists(KvHeads, (int)final);
        try
        {
            for (var g = 0; g < KvHeads; g++)
            {
                var old = delta.KeptOld?[g];
                var start = old?.Count ?? _count;
                var added = delta.NewKeys[g];
                if (start + added.shape[0] != final || added.dim() != 2 || added.shape[1] != HeadDim
                    || !delta.NewValues[g].shape.SequenceEqual(added.shape) || delta.NewTokens[g].Count != added.shape[0])
                {
                    throw new ArgumentException($"Head {g} of the delta keeps {start} old entries and adds [{string.Join(", ", added.shape)}] keys, [{string.Join(", ", delta.NewValues[g].shape)}] values and {delta.NewTokens[g].Count} bookkeeping entries; a head holds {final} entries of dimension {HeadDim}.", nameof(delta));
                }

                using var scope = torch.NewDisposeScope();
                var keyRow = keyStorage[g]; // [N', D]
                var valueRow = valueStorage[g]; // [N', D]
                if (old is null)
                {
                    keyRow.narrow(0, 0, start).copy_(_keys[g]);
                    valueRow.narrow(0, 0, start).copy_(_values[g]);
                    tokens[g].AddRange(_tokens[g]);
                }
                else if (start > 0)
                {
                    if (old.Any(i => i < 0 || i >= _count))
                    {
                        throw new ArgumentException($"Head {g} of the delta keeps an entry outside the layer's {_count}.", nameof(delta));
                    }

                    var rows = torch.tensor(old.ToArray(), device: Device); // [a_g]
                    keyRow.narrow(0, 0, start).copy_(_keys[g].index_select(0, rows));
                    valueRow.narrow(0, 0, start).copy_(_values[g].index_select(0, rows));
                    tokens[g].AddRange(old.Select(i => _tokens[g][(int)i]));
                }

                keyRow.narrow(0, start, final - start).copy_(added);
                valueRow.narrow(0, start, final - start).copy_(delta.NewValues[g]);
                tokens[g].AddRange(delta.NewTokens[g]);
            }
        }
        catch
        {
            keyStorage.Dispose();
            valueStorage.Dispose();
            throw;
        }

        _keyStorage.Dispose();
        _valueStorage.Dispose();
        _keyStorage = keyStorage;
        _valueStorage = valueStorage;
        _tokens = tokens;
        _count = final;
        SeenTokens = delta.SeenTokens;
        _lastChange = null;
        RefreshViews();
    }

    /// <summary>Copies this layer's state for a checkpoint; the snapshot's tensors belong to the caller.</summary>
    public LayerKvSnapshot Export(torch.Device device)
    {
        var tokens = _tokens.Select(list => (IReadOnlyList<TokenInfo>)list.ToArray()).ToArray();
        return new LayerKvSnapshot(
            _keys.to(device, copy: true).DetachFromDisposeScope(), _values.to(device, copy: true).DetachFromDisposeScope(), tokens, SeenTokens);
    }

    /// <summary>Builds a layer from a checkpoint's snapshot, copying its tensors onto the device and dtype.</summary>
    public static LayerKvCache Restore(LayerKvSnapshot snapshot, torch.Device device, torch.ScalarType dtype)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var keys = snapshot.Keys;
        if (keys.dim() != 3)
        {
            throw new ArgumentException($"Snapshot keys must be [G, N, D]; got [{string.Join(", ", keys.shape)}].", nameof(snapshot));
        }

        var layer = new LayerKvCache((int)keys.shape[0], (int)keys.shape[2], device, dtype);
        try
        {
            if (!snapshot.Values.shape.SequenceEqual(keys.shape))
            {
                throw new ArgumentException($"Snapshot values [{string.Join(", ", snapshot.Values.shape)}] do not match keys [{string.Join(", ", keys.shape)}].", nameof(snapshot));
            }

            if (snapshot.Tokens.Count != keys.shape[0] || snapshot.Tokens.Any(t => t.Count != keys.shape[1]))
            {
                throw new ArgumentException($"Snapshot bookkeeping must list {keys.shape[1]} entries for each of {keys.shape[0]} heads.", nameof(snapshot));
            }

            if (snapshot.SeenTokens < keys.shape[1])
            {
                throw new ArgumentException($"Snapshot has seen {snapshot.SeenTokens} tokens but stores {keys.shape[1]}.", nameof(snapshot));
            }

            layer.Reserve(keys.shape[1]);
            layer._keyStorage.copy_(keys);
            layer._valueStorage.copy_(snapshot.Values);
            for (var g = 0; g < layer.KvHeads; g++)
            {
                layer._tokens[g].AddRange(snapshot.Tokens[g]);
            }

            layer._count = keys.shape[1];
            layer.SeenTokens = snapshot.SeenTokens;
            layer.RefreshViews();
            return layer;
        }
        catch
        {
            layer.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _step?.Replaced?.Dispose();
        _step = null;
        _keys.Dispose();
        _values.Dispose();
        _keyStorage.Dispose();
        _valueStorage.Dispose();
    }

    private LayerStepChange? Describe(StepMark step)
    {
        if (step.Gathers == 0)
        {
            var start = new long[KvHeads];
            Array.Fill(start, step.Count);
            return new LayerStepChange(step.Count, null, start);
        }

        if (step.Gathers > 1)
        {
            return null;
        }

        // One gather over (committed entries ++ this step's entries so far): a head's kept committed entries must come
        // first for its new entries to be the tail of its storage.
        var selection = step.Selection!;
        var kept = selection.Length / KvHeads;
        var keptOld = new long[KvHeads][];
        var newStart = new long[KvHeads];
        for (var g = 0; g < KvHeads; g++)
        {
            var row = selection.AsSpan(g * kept, kept);
            var old = 0;
            while (old < kept && row[old] < step.Count)
            {
                old++;
            }

            for (var j = old; j < kept; j++)
            {
                if (row[j] < step.Count)
                {
                    return null;
                }
            }

            keptOld[g] = row[..old].ToArray();
            newStart[g] = old;
        }

        return new LayerStepChange(step.Count, keptOld, newStart);
    }

    private void Reallocate(long capacity)
    {
        var keyStorage = NewStorage(capacity); // [G, capacity, D]
        var valueStorage = NewStorage(capacity); // [G, capacity, D]
        if (_count > 0)
        {
            using var keySlot = keyStorage.narrow(1, 0, _count); // [G, N, D]
            using var valueSlot = valueStorage.narrow(1, 0, _count); // [G, N, D]
            keySlot.copy_(_keys);
            valueSlot.copy_(_values);
        }

        // During a step the storage a gather replaced stays (it holds the committed entries); the current one goes.
        _keyStorage.Dispose();
        _valueStorage.Dispose();
        _keyStorage = keyStorage;
        _valueStorage = valueStorage;
        RefreshViews();
    }

    private void RefreshViews()
    {
        _keys.Dispose();
        _values.Dispose();
        _keys = _keyStorage.narrow(1, 0, _count).DetachFromDisposeScope(); // [G, N, D]
        _values = _valueStorage.narrow(1, 0, _count).DetachFromDisposeScope(); // [G, N, D]
    }

    private torch.Tensor NewStorage(long capacity) =>
        torch.empty([KvHeads, capacity, HeadDim], dtype: DType, device: Device).DetachFromDisposeScope(); // [G, capacity, D]

    private long StorageBytes(long entries)
    {
        return 2L * KvHeads * entries * HeadDim * _keyStorage.ElementSize;
    }

    private IReadOnlyList<TokenInfo>[] CopyTokens() =>
        _tokens.Select(list => (IReadOnlyList<TokenInfo>)list.ToArray()).ToArray();

    private void CheckShape(torch.Tensor t, string name)
    {
        if (t.dim() != 3 || t.shape[0] != KvHeads || t.shape[2] != HeadDim)
        {
            throw new ArgumentException($"{name} must be [G={KvHeads}, T, D={HeadDim}]; got [{string.Join(", ", t.shape)}].", name);
        }
    }

    private static List<TokenInfo>[] NewTokenLists(int heads, int capacity)
    {
        var lists = new List<TokenInfo>[heads];
        for (var g = 0; g < heads; g++)
        {
            lists[g] = new List<TokenInfo>(capacity);
        }

        return lists;
    }

    /// <summary>The storage a step's first gather replaced, kept until the step commits.</summary>
    private sealed record ReplacedStorage(torch.Tensor Keys, torch.Tensor Values) : IDisposable
    {
        public void Dispose()
        {
            Keys.Dispose();
            Values.Dispose();
        }
    }

    /// <summary>Where a step began, and what its first gather replaced.</summary>
    private sealed class StepMark(long count, long seen, List<TokenInfo>[] tokens)
    {
        public long Count { get; } = count;

        public long Seen { get; } = seen;

        public List<TokenInfo>[] Tokens { get; } = tokens;

        /// <summary>What the previous committed step changed, remembered again on rollback.</summary>
        public LayerStepChange? PreviousChange { get; init; }

        public ReplacedStorage? Replaced { get; set; }

        /// <summary>The first gather's selection, flat <c>[G·K]</c>.</summary>
        public long[]? Selection { get; set; }

        public int Gathers { get; set; }
    }

    /// <summary>
    /// A committed step as a delta: per head, which committed entries it kept (null: all, in order) and where its new
    /// entries start in the storage (they run to <see cref="Count"/>).
    /// </summary>
    private sealed record LayerStepChange(long BaseCount, IReadOnlyList<IReadOnlyList<long>>? KeptOld, long[] NewStart);
}
