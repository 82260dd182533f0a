using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace StarKv.Grains.Tests.Support;

/// <summary>Keeps every log line of the categories it is asked for (level, category, message, whether an exception came with it).</summary>
public sealed class CapturedLogs(params string[] categories) : ILoggerProvider
{
    private readonly ConcurrentQueue<LogLine> _lines = new();

    public IReadOnlyList<LogLine> Lines => [.. _lines];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    public sealed record LogLine(LogLevel Level, string Category, string Message, bool HasException);

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => owner.Wants(category);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (owner.Wants(category))
            {
                owner._lines.Enqueue(new LogLine(logLevel, category, formatter(state, exception), exception is not null));
            }
        }
    }

    private bool Wants(string category) => categories.Any(c => category.StartsWith(c, StringComparison.Ordinal));
}
