using System.Text.Json;
using System.Text.Json.Serialization;

namespace StarKv.Eval.Core.Runner;

/// <summary>What makes two runs the same run (so one may resume the other); methods and budgets may grow.</summary>
public sealed record RunIdentity
{
    public required string Benchmark { get; init; }
    public required string Data { get; init; }
    public required string Model { get; init; }
    public required string DType { get; init; }
    public int? Limit { get; init; }
    public required int Seed { get; init; }
    public required int MaxNewTokens { get; init; }
    public required string TupleSpace { get; init; }
    public required string Grader { get; init; }
    public required string Layout { get; init; }
}

/// <summary>
/// The resume file: <c>run.json</c> (the run's identity) and <c>progress.jsonl</c> (one finished episode per line,
/// appended and flushed as soon as it finishes). Opening a folder that holds another run's identity fails with the
/// differing fields; a truncated last line (an interrupted write) is dropped.
/// </summary>
public sealed class ResultStore
{
    public const string IdentityFile = "run.json";
    public const string ProgressFile = "progress.jsonl";

    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = false,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    internal static readonly JsonSerializerOptions IndentedJson = new(Json) { WriteIndented = true };

    private readonly string _progressPath;
    private readonly Dictionary<(string Config, string Episode), EpisodeRecord> _records = [];

    private ResultStore(string folder)
    {
        Folder = folder;
        _progressPath = Path.Combine(folder, ProgressFile);
    }

    public string Folder { get; }

    public IReadOnlyCollection<EpisodeRecord> Records => _records.Values;

    /// <exception cref="InvalidOperationException">The folder holds a run with another identity.</exception>
    public static ResultStore Open(string folder, RunIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        Directory.CreateDirectory(folder);
        var store = new ResultStore(folder);
        var identityPath = Path.Combine(folder, IdentityFile);
        if (File.Exists(identityPath))
        {
            var saved = JsonSerializer.Deserialize<RunIdentity>(File.ReadAllText(identityPath), Json)
                ?? throw new InvalidOperationException($"{identityPath} is empty.");
            if (saved != identity)
            {
                var differing = typeof(RunIdentity).GetProperties()
                    .Where(p => !Equals(p.GetValue(saved), p.GetValue(identity)))
                    .Select(p => $"{p.Name} '{p.GetValue(saved)}' there, '{p.GetValue(identity)}' now");
                throw new InvalidOperationException(
                    $"{folder} holds another run ({string.Join("; ", differing)}); choose another --out or delete it to start over.");
            }
        }
        else
        {
            File.WriteAllText(identityPath, JsonSerializer.Serialize(identity, IndentedJson));
        }

        if (File.Exists(store._progressPath))
        {
            var bytes = File.ReadAllBytes(store._progressPath);
            if (bytes.Length > 0 && bytes[^1] != (byte)'\n')
            {
                File.AppendAllText(store._progressPath, "\n"); // end a cut-off line so the next record starts on its own
            }

            foreach (var line in File.ReadAllLines(store._progressPath))
            {
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }

                try
                {
                    if (JsonSerializer.Deserialize<EpisodeRecord>(line, Json) is { } record)
                    {
                        store._records[(record.Config, record.EpisodeId)] = record;
                    }
                }
                catch (JsonException)
                {
                    // A line cut off by an interrupted run: that episode runs again.
                }
            }
        }

        return store;
    }

    public bool Has(string config, string episode) => _records.ContainsKey((config, episode));

    public int Count(string config) => _records.Keys.Count(k => k.Config == config);

    /// <summary>Appends one finished episode and flushes it to disk.</summary>
    public void Append(EpisodeRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        _records[(record.Config, record.EpisodeId)] = record;
        using var stream = new FileStream(_progressPath, FileMode.Append, FileAccess.Write, FileShare.Read);
        using (var writer = new StreamWriter(stream))
        {
            writer.WriteLine(JsonSerializer.Serialize(record, Json));
        }
    }
}
