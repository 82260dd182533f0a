using Grpc.Core;
using StarKv.Gateway.Sessions;
using StarKv.Gateway.Tenants;
using StarKv.Gateway.Validation;
using StarKv.Grains.Admin;
using StarKv.Grains.Errors;
using StarKv.Grains.Placement;
using StarKv.Grains.Sessions;
using StarKv.Grains.Tenants;
using StarKv.Protos.V1;
using StarKv.Telemetry;

namespace StarKv.Gateway.Services;

/// <summary>
/// The public gRPC service (bound by <see cref="AgentGatewayMethods"/>): every call is already authenticated
/// (<see cref="TenantAuthenticationInterceptor"/>); inputs are validated here, then routed to the trajectory grain keyed
/// <c>tenant/session</c> through <see cref="SessionCalls"/>. Errors are domain exceptions, mapped to status codes by
/// <see cref="Errors.DomainErrorInterceptor"/>.
/// </summary>
public sealed partial class AgentGatewayService(
    IGrainFactory grains,
    SessionCalls sessions,
    StepInputValidator validator,
    ClusterAdmin admin,
    TimeProvider clock,
    ILogger<AgentGatewayService> logger)
{
    /// <summary>How long a question to the cluster's load view may take before the call answers UNAVAILABLE.</summary>
    private static readonly TimeSpan ClusterQueryTimeout = TimeSpan.FromSeconds(10);

    public async Task<SessionInfo> CreateSession(CreateSessionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var tenant = TenantAuthenticationInterceptor.TenantOf(context);
        var key = KeyOf(tenant.Id, request.SessionId);
        var config = ProtoMapping.ToConfig(request);
        config.Validate();

        var choice = await AskClusterAsync(grains.GetGrain<ISiloLoadRegistryGrain>(0).ChooseSiloAsync(config.ModelId, excludeSilo: null), context.CancellationToken).ConfigureAwait(false);
        if (choice.Silo is null)
        {
            throw StarKvException.ResourceExhausted($"No silo can take a new session: {choice.Reason}.");
        }

        // The slot goes back to the tenant whatever fails before the session exists.
        await using var slot = await SessionReservation.ReserveAsync(
            grains.GetGrain<ITenantLedgerGrain>(tenant.Id), key.Session, tenant.MaxSessions, error => LogReleaseFailed(logger, error, key.ToString())).ConfigureAwait(false);
        ModelContext.Set(config.ModelId, config.BudgetRatio, config.BudgetTokens);
        try
        {
            var snapshot = await sessions.RunAsync(key, (grain, token) => grain.CreateAsync(config, token), context.CancellationToken).ConfigureAwait(false);
            slot.Keep();
            return ProtoMapping.ToInfo(snapshot);
        }
        finally
        {
            ModelContext.Clear();
        }
    }

    public async Task<StepResult> Step(StepRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        return await StepAsync(request, TenantAuthenticationInterceptor.TenantOf(context), context.CancellationToken).ConfigureAwait(false);
    }

    public async Task Run(IAsyncStreamReader<StepRequest> requestStream, IServerStreamWriter<StepResult> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        var tenant = TenantAuthenticationInterceptor.TenantOf(context);
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
        {
            var result = await StepAsync(request, tenant, context.CancellationToken).ConfigureAwait(false);
            await responseStream.WriteAsync(result, context.CancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<SessionInfo> GetSession(GetSessionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var key = KeyOf(TenantAuthenticationInterceptor.TenantOf(context).Id, request.SessionId);
        return ProtoMapping.ToInfo(await sessions.RunAsync(key, (grain, token) => grain.GetAsync(token), context.CancellationToken).ConfigureAwait(false));
    }

    public async Task<CloseSessionResponse> CloseSession(CloseSessionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var tenant = TenantAuthenticationInterceptor.TenantOf(context);
        var key = KeyOf(tenant.Id, request.SessionId);
        var steps = await sessions.RunAsync(key, (grain, token) => grain.CloseAsync(token), context.CancellationToken).ConfigureAwait(false);
        await grains.GetGrain<ITenantLedgerGrain>(tenant.Id).ReleaseSessionAsync(key.Session).ConfigureAwait(false);
        return new CloseSessionResponse { StepsTaken = steps };
    }

    public async Task<ListSilosResponse> ListSilos(ListSilosRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        RequireAdmin(context);
        var now = clock.GetUtcNow().UtcDateTime;
        var response = new ListSilosResponse();
        var reports = await AskClusterAsync(admin.ListSilosAsync(), context.CancellationToken).ConfigureAwait(false);
        response.Silos.AddRange(reports.OrderBy(r => r.Silo, StringComparer.Ordinal).Select(r => ProtoMapping.ToSiloLoad(r, now)));
        return response;
    }

    public async Task<MigrateSessionResponse> MigrateSession(MigrateSessionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var caller = RequireAdmin(context);
        var key = KeyOf(string.IsNullOrEmpty(request.Tenant) ? caller.Id : request.Tenant, request.SessionId);
        var ticket = await admin.MigrateSessionAsync(key, request.TargetSilo).ConfigureAwait(false);
        return new MigrateSessionResponse { FromSilo = ticket.FromSilo, ToSilo = ticket.ToSilo };
    }

    public async Task<DrainSiloResponse> DrainSilo(DrainSiloRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        RequireAdmin(context);
        if (request.TimeoutSeconds < 0)
        {
            throw StarKvException.InvalidArgument($"timeout_seconds must be 0 or more; it is {request.TimeoutSeconds}.");
        }

        var timeout = TimeSpan.FromSeconds(request.TimeoutSeconds == 0 ? 60 : request.TimeoutSeconds);
        var outcome = await admin.DrainSiloAsync(request.Silo, timeout, request.Force, context.CancellationToken).ConfigureAwait(false);
        return new DrainSiloResponse { MovedSessions = outcome.MovedSessions, RemainingSessions = outcome.RemainingSessions };
    }

    public async Task<SiloLoad> UndrainSilo(UndrainSiloRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        RequireAdmin(context);
        var report = await admin.UndrainSiloAsync(request.Silo, ClusterQueryTimeout, context.CancellationToken).ConfigureAwait(false);
        return ProtoMapping.ToSiloLoad(report, clock.GetUtcNow().UtcDateTime);
    }

    private async Task<StepResult> StepAsync(StepRequest request, Configuration.TenantOptions tenant, CancellationToken cancellationToken)
    {
        var key = KeyOf(tenant.Id, request.SessionId);
        var started = clock.GetTimestamp();
        validator.Validate(request.StepIndex, request.Screenshot.Span, request.Instruction);
        using var span = StarKvTelemetry.StartStep(new StepTrace(tenant.Id, key.Session, request.StepIndex))
            ?.SetTag(StarKvAttributes.ScreenshotBytes, request.Screenshot.Length);

        var usage = await grains.GetGrain<ITenantLedgerGrain>(tenant.Id).GetUsageAsync().ConfigureAwait(false);
        if (usage.KvBytes >= tenant.MaxKvBytes)
        {
            throw StarKvException.ResourceExhausted(
                $"Tenant '{tenant.Id}' holds {usage.KvBytes} KV bytes across {usage.Sessions} sessions, at its quota (MaxKvBytes = {tenant.MaxKvBytes}); close a session first.");
        }

        var input = new StepInput
        {
            StepIndex = request.StepIndex,
            Screenshot = request.Screenshot.ToByteArray(),
            Instruction = request.Instruction,
        };
        var record = await sessions.RunAsync(key, (grain, token) => grain.StepAsync(input, token), cancellationToken).ConfigureAwait(false);
        span?.SetTag(StarKvAttributes.Silo, record.Figures.Silo).SetTag(StarKvAttributes.Replayed, record.Replayed);
        StarKvTelemetry.RecordStepLatency(tenant.Id, clock.GetElapsedTime(started));
        return ProtoMapping.ToResult(key.Session, record);
    }

    /// <summary>A question to the cluster's load view; UNAVAILABLE when no silo answers in time (one may have just died).</summary>
    private static async Task<T> AskClusterAsync<T>(Task<T> question, CancellationToken cancellationToken)
    {
        try
        {
            return await question.WaitAsync(ClusterQueryTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException error)
        {
            throw StarKvException.Unavailable($"The cluster did not answer within {ClusterQueryTimeout.TotalSeconds:0} s (a silo may have just left it); retry.", error);
        }
    }

    private static SessionKey KeyOf(string tenant, string sessionId)
    {
        try
        {
            return new SessionKey(tenant, sessionId);
        }
        catch (ArgumentException error)
        {
            throw StarKvException.InvalidArgument($"session_id is invalid: {ErrorMessages.Plain(error)}");
        }
    }

    private static Configuration.TenantOptions RequireAdmin(ServerCallContext context)
    {
        var tenant = TenantAuthenticationInterceptor.TenantOf(context);
        return tenant.Admin
            ? tenant
            : throw StarKvException.PermissionDenied($"Tenant '{tenant.Id}' may not call admin operations (StarKv:Tenants entry has Admin = false).");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The session slot of {Session} could not be given back to its tenant; the tenant's ledger reconciles it at its quota")]
    private static partial void LogReleaseFailed(ILogger logger, Exception error, string session);
}
