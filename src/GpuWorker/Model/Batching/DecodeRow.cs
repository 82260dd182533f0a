using StarKv.GpuWorker.Cache;

namespace StarKv.GpuWorker.Model.Batching;

/// <summary>
/// One session's next decode token in a batched decode: the token the session feeds, its rotary position (t = h = w),
/// and the session's own cache, which the token is appended to (at sequence index <see cref="KvCache.SeenTokens"/>).
/// </summary>
public readonly record struct DecodeRow(int TokenId, long Position, KvCache Cache);
