using Orleans.Storage;
using StarKv.Grains.Storage.Persistence;

namespace StarKv.Grains.Tests.Storage;

/// <summary>
/// The behaviour every grain storage of the project shares; one subclass per store runs it. Each test gets a
/// fresh backing store; <see cref="CreateStorageAsync"/> returns a new storage instance over that same store,
/// as a second silo would have.
/// </summary>
public abstract class GrainStorageContractTests
{
    protected const string StateName = "profile";

    protected static readonly GrainId Alpha = GrainId.Create("test-grain", "alpha");

    /// <summary>The record name of <see cref="Alpha"/>'s <see cref="StateName"/> state, worked out by hand.</summary>
    protected const string AlphaRecordName = "state/profile/test-grain/alpha";

    protected abstract Task<IGrainStorage> CreateStorageAsync();

    /// <summary>Puts raw bytes where the storage keeps <paramref name="recordName"/>.</summary>
    protected abstract Task WriteRawAsync(string recordName, byte[] bytes);

    protected abstract Task<byte[]?> ReadRawAsync(string recordName);

    [Fact]
    public async Task Reading_a_missing_record_gives_a_default_state_and_no_etag()
    {
        var storage = await CreateStorageAsync();
        var state = new GrainState<StorageTestState>(new StorageTestState { Text = "left over" }, "stale");

        await storage.ReadStateAsync(StateName, Alpha, state);

        Assert.False(state.RecordExists);
        Assert.Null(state.ETag);
        Assert.NotNull(state.State);
        Assert.Equal(string.Empty, state.State!.Text);
        Assert.Equal(0, state.State!.Count);
    }

    [Fact]
    public async Task A_written_state_reads_back_with_its_etag_from_another_storage_instance()
    {
        var writer = await CreateStorageAsync();
        var written = new GrainState<StorageTestState>(new StorageTestState { Text = "héllo", Count = 7, Steps = [1, 2, 40_000_000_000] });

        await writer.WriteStateAsync(StateName, Alpha, written);

        Assert.True(written.RecordExists);
        Assert.False(string.IsNullOrEmpty(written.ETag));
        var reader = await CreateStorageAsync();
        var read = new GrainState<StorageTestState>();
        await reader.ReadStateAsync(StateName, Alpha, read);
        Assert.True(read.RecordExists);
        Assert.Equal(written.ETag, read.ETag);
        Assert.Equal("héllo", read.State!.Text);
        Assert.Equal(7, read.State!.Count);
        Assert.Equal([1L, 2L, 40_000_000_000L], read.State!.Steps);
        Assert.NotNull(await ReadRawAsync(AlphaRecordName));
    }

    [Fact]
    public async Task Each_write_changes_the_etag_and_the_writer_can_write_again()
    {
        var storage = await CreateStorageAsync();
        var state = new GrainState<StorageTestState>(new StorageTestState { Count = 1 });
        await storage.WriteStateAsync(StateName, Alpha, state);
        var first = state.ETag;

        state.State!.Count = 2;
        await storage.WriteStateAsync(StateName, Alpha, state);

        Assert.NotEqual(first, state.ETag);
        var read = new GrainState<StorageTestState>();
        await storage.ReadStateAsync(StateName, Alpha, read);
        Assert.Equal(2, read.State!.Count);
        Assert.Equal(state.ETag, read.ETag);
    }

    [Fact]
    public async Task Of_two_writers_that_read_the_same_etag_the_second_gets_an_inconsistent_state_error_with_both_etags()
    {
        var seed = await CreateStorageAsync();
        await seed.WriteStateAsync(StateName, Alpha, new GrainState<StorageTestState>(new StorageTestState { Count = 1 }));
        var first = await CreateStorageAsync();
        var second = await CreateStorageAsync();
        var firstState = new GrainState<StorageTestState>();
        var secondState = new GrainState<StorageTestState>();
        await first.ReadStateAsync(StateName, Alpha, firstState);
        await second.ReadStateAsync(StateName, Alpha, secondState);
        var sharedEtag = secondState.ETag;

        firstState.State!.Count = 2;
        await first.WriteStateAsync(StateName, Alpha, firstState);
        secondState.State!.Count = 3;
        var error = await Assert.ThrowsAsync<InconsistentStateException>(() => second.WriteStateAsync(StateName, Alpha, secondState));

        Assert.Equal(firstState.ETag, error.StoredEtag);
        Assert.Equal(sharedEtag, error.CurrentEtag);
        Assert.Contains(AlphaRecordName, error.Message, StringComparison.Ordinal);
        var read = new GrainState<StorageTestState>();
        await (await CreateStorageAsync()).ReadStateAsync(StateName, Alpha, read);
        Assert.Equal(2, read.State!.Count);
    }

    [Fact]
    public async Task Creating_a_record_that_another_writer_created_meanwhile_conflicts()
    {
        var first = await CreateStorageAsync();
        var second = await CreateStorageAsync();
        var firstState = new GrainState<StorageTestState>();
        var secondState = new GrainState<StorageTestState>();
        await first.ReadStateAsync(StateName, Alpha, firstState);
        await second.ReadStateAsync(StateName, Alpha, secondState);

        await first.WriteStateAsync(StateName, Alpha, firstState);
        var error = await Assert.ThrowsAsync<InconsistentStateException>(() => second.WriteStateAsync(StateName, Alpha, secondState));

        Assert.Equal(firstState.ETag, error.StoredEtag);
        Assert.Null(error.CurrentEtag);
    }

    [Fact]
    public async Task A_conflict_holds_only_exception_types_that_a_client_without_the_storage_SDK_can_load()
    {
        // The conflict reaches the grain's callers. The gateway has Orleans and the base library but no storage SDK, and
        // Orleans cannot read a response holding an exception, inner ones included, whose type the receiver cannot load.
        var first = await CreateStorageAsync();
        var second = await CreateStorageAsync();
        var firstState = new GrainState<StorageTestState>(new StorageTestState { Count = 1 });
        var secondState = new GrainState<StorageTestState>(new StorageTestState { Count = 2 });
        await first.WriteStateAsync(StateName, Alpha, firstState);

        var error = await Assert.ThrowsAsync<InconsistentStateException>(() => second.WriteStateAsync(StateName, Alpha, secondState));

        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            var assembly = e.GetType().Assembly.GetName().Name!;
            Assert.True(assembly.StartsWith("Orleans.", StringComparison.Ordinal) || assembly.StartsWith("System.", StringComparison.Ordinal),
                $"{e.GetType().FullName} comes from {assembly}");
        }
    }

    [Fact]
    public async Task Concurrent_writers_from_one_etag_let_exactly_one_win()
    {
        var seed = await CreateStorageAsync();
        var seeded = new GrainState<StorageTestState>(new StorageTestState());
        await seed.WriteStateAsync(StateName, Alpha, seeded);
        var storages = new List<IGrainStorage>();
        for (var i = 0; i < 6; i++)
        {
            storages.Add(await CreateStorageAsync());
        }

        var attempts = storages.Select(async (storage, i) =>
        {
            var state = new GrainState<StorageTestState>(new StorageTestState { Count = i + 1 }, seeded.ETag) { RecordExists = true };
            try
            {
                await storage.WriteStateAsync(StateName, Alpha, state);
                return i + 1;
            }
            catch (InconsistentStateException)
            {
                return 0;
            }
        }).ToList();
        var outcomes = await Task.WhenAll(attempts);

        var winner = Assert.Single(outcomes, o => o != 0);
        var read = new GrainState<StorageTestState>();
        await seed.ReadStateAsync(StateName, Alpha, read);
        Assert.Equal(winner, read.State!.Count);
    }

    [Fact]
    public async Task Clearing_deletes_the_record_and_resets_the_state()
    {
        var storage = await CreateStorageAsync();
        var state = new GrainState<StorageTestState>(new StorageTestState { Count = 5 });
        await storage.WriteStateAsync(StateName, Alpha, state);

        await storage.ClearStateAsync(StateName, Alpha, state);

        Assert.False(state.RecordExists);
        Assert.Null(state.ETag);
        Assert.Equal(0, state.State!.Count);
        Assert.Null(await ReadRawAsync(AlphaRecordName));
        var read = new GrainState<StorageTestState>();
        await storage.ReadStateAsync(StateName, Alpha, read);
        Assert.False(read.RecordExists);

        // After a clear the same state object can create the record again.
        state.State!.Count = 6;
        await storage.WriteStateAsync(StateName, Alpha, state);
        await storage.ReadStateAsync(StateName, Alpha, read);
        Assert.Equal(6, read.State!.Count);
    }

    [Fact]
    public async Task Clearing_with_a_stale_etag_conflicts_and_keeps_the_record()
    {
        var first = await CreateStorageAsync();
        var second = await CreateStorageAsync();
        var firstState = new GrainState<StorageTestState>(new StorageTestState { Count = 1 });
        await first.WriteStateAsync(StateName, Alpha, firstState);
        var secondState = new GrainState<StorageTestState>();
        await second.ReadStateAsync(StateName, Alpha, secondState);
        firstState.State!.Count = 2;
        await first.WriteStateAsync(StateName, Alpha, firstState);

        var error = await Assert.ThrowsAsync<InconsistentStateException>(() => second.ClearStateAsync(StateName, Alpha, secondState));

        Assert.Equal(firstState.ETag, error.StoredEtag);
        Assert.NotNull(await ReadRawAsync(AlphaRecordName));
    }

    [Fact]
    public async Task Writing_with_an_etag_after_another_writer_cleared_the_record_conflicts()
    {
        var first = await CreateStorageAsync();
        var second = await CreateStorageAsync();
        var firstState = new GrainState<StorageTestState>(new StorageTestState { Count = 1 });
        await first.WriteStateAsync(StateName, Alpha, firstState);
        var secondState = new GrainState<StorageTestState>();
        await second.ReadStateAsync(StateName, Alpha, secondState);
        var staleEtag = secondState.ETag;
        await first.ClearStateAsync(StateName, Alpha, firstState);

        var error = await Assert.ThrowsAsync<InconsistentStateException>(() => second.WriteStateAsync(StateName, Alpha, secondState));

        Assert.Null(error.StoredEtag);
        Assert.Equal(staleEtag, error.CurrentEtag);
        Assert.Null(await ReadRawAsync(AlphaRecordName));
    }

    [Fact]
    public async Task Clearing_a_missing_record_is_no_error()
    {
        var storage = await CreateStorageAsync();
        var state = new GrainState<StorageTestState>();

        await storage.ClearStateAsync(StateName, Alpha, state);

        Assert.False(state.RecordExists);
    }

    [Fact]
    public async Task A_record_that_is_not_stored_state_gives_an_error_naming_it()
    {
        var storage = await CreateStorageAsync();
        await WriteRawAsync(AlphaRecordName, "this is not a grain state at all, just a line of text long enough to pass for a header"u8.ToArray());

        var error = await Assert.ThrowsAsync<CorruptGrainStateException>(() => storage.ReadStateAsync(StateName, Alpha, new GrainState<StorageTestState>()));

        Assert.Contains(AlphaRecordName, error.Message, StringComparison.Ordinal);
        Assert.Contains("SKGS", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_record_with_a_damaged_payload_fails_its_checksum_with_an_error_naming_it()
    {
        var storage = await CreateStorageAsync();
        await storage.WriteStateAsync(StateName, Alpha, new GrainState<StorageTestState>(new StorageTestState { Text = "payload to damage" }));
        var bytes = (await ReadRawAsync(AlphaRecordName))!;
        bytes[^3] ^= 0x5A;
        await WriteRawAsync(AlphaRecordName, bytes);

        var error = await Assert.ThrowsAsync<CorruptGrainStateException>(() => storage.ReadStateAsync(StateName, Alpha, new GrainState<StorageTestState>()));

        Assert.Contains(AlphaRecordName, error.Message, StringComparison.Ordinal);
        Assert.Contains("SHA-256", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Grains_and_state_names_with_unusual_keys_get_separate_records()
    {
        var storage = await CreateStorageAsync();
        var ids = new[]
        {
            GrainId.Create("trajectory", "tenant-a/session.1"),
            GrainId.Create("trajectory", "tenant-a~2Fsession.1"),
            GrainId.Create("trajectory", "../../escape"),
            GrainId.Create("trajectory", "ünïcode key"),
            GrainId.Create("other-type", "tenant-a/session.1"),
        };
        for (var i = 0; i < ids.Length; i++)
        {
            await storage.WriteStateAsync(StateName, ids[i], new GrainState<StorageTestState>(new StorageTestState { Count = i }));
        }

        await storage.WriteStateAsync("other-state", ids[0], new GrainState<StorageTestState>(new StorageTestState { Count = 99 }));

        for (var i = 0; i < ids.Length; i++)
        {
            var read = new GrainState<StorageTestState>();
            await storage.ReadStateAsync(StateName, ids[i], read);
            Assert.Equal(i, read.State!.Count);
        }

        var other = new GrainState<StorageTestState>();
        await storage.ReadStateAsync("other-state", ids[0], other);
        Assert.Equal(99, other.State!.Count);
        Assert.NotNull(await ReadRawAsync("state/profile/trajectory/tenant-a~2Fsession~2E1"));
        Assert.NotNull(await ReadRawAsync("state/profile/trajectory/~2E~2E~2F~2E~2E~2Fescape"));
    }
}
