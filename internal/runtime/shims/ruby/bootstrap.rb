# Sluice runtime client for the ruby3.x runtimes.
#
# Sluice starts one long-lived `ruby bootstrap.rb` per function instance with
# AWS_LAMBDA_RUNTIME_API, _HANDLER and LAMBDA_TASK_ROOT set, as Lambda starts its
# managed Ruby runtime. This file plays the part of AWS's runtime interface client
# (aws_lambda_ric): it loads the handler named by _HANDLER ("file.method" or
# "file.Module::Class.method") from the task root, then loops
# GET /invocation/next -> handler(event:, context:) -> POST /response or /error.
# Error objects follow the RIC: {"errorMessage","errorType","stackTrace"} with
# errorType "Function<Class>" for handler errors and "Init<Class>" for load
# errors. It uses only the standard library.

require 'json'
require 'net/http'
require 'time'

$stdout.sync = true
$stderr.sync = true

API = ENV.fetch('AWS_LAMBDA_RUNTIME_API')
HOST, PORT = API.rpartition(':').then { |h, _, p| [h.delete_prefix('[').delete_suffix(']'), p.to_i] }
PREFIX = '/2018-06-01/runtime'

def http
  @http ||= Net::HTTP.new(HOST, PORT).tap do |h|
    h.read_timeout = nil
    h.keep_alive_timeout = 3600
    h.start
  end
end

def post(path, body, headers = {})
  req = Net::HTTP::Post.new(PREFIX + path, { 'Content-Type' => 'application/json' }.merge(headers))
  req.body = body
  http.request(req)
rescue StandardError => e
  warn "sluice runtime: POST #{path}: #{e.message}"
  exit! 1
end

def error_object(err, prefix)
  {
    errorMessage: err.message.to_s,
    errorType: "#{prefix}<#{err.class}>",
    stackTrace: (err.backtrace || [])
  }
end

def post_error(path, err, prefix)
  obj = error_object(err, prefix)
  post(path, JSON.generate(obj), 'Lambda-Runtime-Function-Error-Type' => obj[:errorType])
end

# LambdaContext mirrors aws_lambda_ric's LambdaContext.
class LambdaContext
  attr_reader :aws_request_id, :invoked_function_arn, :log_group_name, :log_stream_name,
              :function_name, :memory_limit_in_mb, :function_version, :identity, :client_context,
              :deadline_ms

  def initialize(headers)
    @aws_request_id = headers['lambda-runtime-aws-request-id']
    @invoked_function_arn = headers['lambda-runtime-invoked-function-arn']
    @deadline_ms = headers['lambda-runtime-deadline-ms'].to_i
    @identity = headers['lambda-runtime-cognito-identity']&.then { |v| JSON.parse(v) }
    @client_context = headers['lambda-runtime-client-context']&.then { |v| JSON.parse(v) }
    @log_group_name = ENV['AWS_LAMBDA_LOG_GROUP_NAME']
    @log_stream_name = ENV['AWS_LAMBDA_LOG_STREAM_NAME']
    @function_name = ENV['AWS_LAMBDA_FUNCTION_NAME']
    @memory_limit_in_mb = ENV['AWS_LAMBDA_FUNCTION_MEMORY_SIZE']
    @function_version = ENV['AWS_LAMBDA_FUNCTION_VERSION']
  end

  def get_remaining_time_in_millis
    [@deadline_ms - (Time.now.to_f * 1000).to_i, 0].max
  end
end

# load_handler resolves _HANDLER as the RIC's LambdaHandler does.
def load_handler
  handler = ENV.fetch('_HANDLER', '')
  file, _, method = handler.rpartition('.')
  raise ArgumentError, "Invalid handler #{handler}, must be of form FILENAME.METHOD or FILENAME.CLASS.METHOD" if file.empty? || method.empty?

  file, _, klass = file.partition('.') if file.include?('.')
  root = ENV.fetch('LAMBDA_TASK_ROOT', Dir.pwd)
  $LOAD_PATH.unshift(root) unless $LOAD_PATH.include?(root)
  # AWS's GEM_PATH starts with /var/task/vendor/bundle/ruby/X.Y.0 (what
  # `bundle config set --local path vendor/bundle` installs), so gems shipped in the zip load.
  vendor = File.join(root, 'vendor', 'bundle', 'ruby', RbConfig::CONFIG['ruby_version'])
  Gem.paths = { 'GEM_PATH' => [vendor, *Gem.path].join(File::PATH_SEPARATOR) } if Dir.exist?(vendor)
  require File.join(root, file)
  target = klass.to_s.empty? ? Object.new : Object.const_get(klass)
  [target, method.to_sym]
end

begin
  target, method = load_handler
rescue Exception => e # rubocop:disable Lint/RescueException -- a failed init is reported, whatever it is
  warn "Init error when loading handler #{ENV['_HANDLER']}: #{e.class}: #{e.message}"
  post_error('/init/error', e, 'Init')
  exit! 1
end

loop do
  res = http.request(Net::HTTP::Get.new(PREFIX + '/invocation/next'))
  unless res.code == '200'
    warn "sluice runtime: GET /invocation/next returned #{res.code}"
    exit! 1
  end
  headers = res.each_header.to_h
  id = headers['lambda-runtime-aws-request-id']
  ENV['_X_AMZN_TRACE_ID'] = headers['lambda-runtime-trace-id'] if headers['lambda-runtime-trace-id']
  context = LambdaContext.new(headers)
  begin
    event = JSON.parse(res.body)
    result = target.send(method, event: event, context: context)
    post("/invocation/#{id}/response", JSON.generate(result))
  rescue StandardError, ScriptError => e
    warn "Error raised from handler method: #{e.class}: #{e.message}"
    post_error("/invocation/#{id}/error", e, 'Function')
  end
end
