namespace StarKv.GpuWorker.Sessions;

/// <summary>One finished step of a session's history: the instruction it was given, the model's reply (without
/// <c>&lt;|im_end|&gt;</c>) and its screenshot's image pad count.</summary>
public sealed record SessionHistoryStep(string Instruction, string Reply, int ImageTokens);
