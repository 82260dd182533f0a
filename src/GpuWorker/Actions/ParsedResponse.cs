namespace StarKv.GpuWorker.Actions;

/// <summary>Why a model response could not be parsed; <see cref="Offset"/> is a character index into the response.</summary>
public sealed record ParseError(string Message, int? Offset)
{
    public override string ToString() => Offset is { } at ? $"{Message} (at offset {at})" : Message;
}

/// <summary>
/// A parsed UI-TARS response: its thought (the <c>Thought:</c> or <c>Action_Summary:</c> section), an optional
/// <c>Reflection:</c>, and the actions of its <c>Action:</c> section in order. On failure <see cref="Error"/> says
/// what is wrong and <see cref="Actions"/> is empty.
/// </summary>
public sealed record ParsedResponse
{
    public string? Thought { get; init; }

    public string? Reflection { get; init; }

    public IReadOnlyList<UiTarsAction> Actions { get; init; } = [];

    public ParseError? Error { get; init; }

    public bool IsSuccess => Error is null;

    internal static ParsedResponse Failure(ParseError error, string? thought = null, string? reflection = null) =>
        new() { Error = error, Thought = thought, Reflection = reflection };
}
